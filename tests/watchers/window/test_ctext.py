"""COMPOUND_TEXT decoding (what xterm puts in WM_NAME for non-ASCII titles)."""

from __future__ import annotations

import pytest

from watchers.window.backends.ctext import decode_compound_text


@pytest.mark.parametrize(("raw", "text"), [
    (b"plain ascii", "plain ascii"),
    # Latin-1 right half is the default GR set.
    ("caf\xe9 \xfcber".encode("latin-1"), "café über"),
    # What xterm emits for "Beta Term — ünïcode": UTF-8 segment for the dash, GR Latin-1 after.
    (b"Beta Term \x1b%G\xe2\x80\x94\x1b%@ \xfcn\xefcode", "Beta Term — ünïcode"),
    (b"\x1b%G\xe6\x97\xa5\xe6\x9c\xac\x1b%@", "日本"),
    # ISO 8859-2 designated into GR.
    (b"\x1b-B\xb1", "ą"),
    # JIS X 0208 into GL (ESC $ ( B), then back to ASCII.
    (b"\x1b$(B\x46\x7c\x4b\x5c\x1b(B!", "日本!"),
    # An extended segment naming a codec: ESC % / 1, length (M L), "koi8-r" STX data.
    (b"\x1b%/1\x80\x89koi8-r\x02\xf0\xf2", "ПР"),
])
def test_decode(raw: bytes, text: str) -> None:
    assert decode_compound_text(raw) == text


def test_garbage_never_raises() -> None:
    assert isinstance(decode_compound_text(b"\x1b%G\xff\xfe\x1b$)Z\x1b"), str)


def test_string_titles_accept_utf8_and_latin1() -> None:
    from watchers.window.backends.x11 import decode_string

    assert decode_string("Zeta ✓".encode()) == "Zeta ✓"
    assert decode_string("café".encode("latin-1")) == "café"
