"""Decoding X11 COMPOUND_TEXT (the encoding of many legacy `WM_NAME` values).

xterm and other Xt/Xlib programs set a non-ASCII title only as `WM_NAME` of type
COMPOUND_TEXT, and python-xlib does not decode it (its `get_wm_name()` returns b'').
COMPOUND_TEXT is ISO 2022: ASCII in GL and Latin-1 in GR by default, escape sequences
switch either half to another charset, and `ESC % G … ESC % @` wraps raw UTF-8. This
module covers what X libraries emit in practice: the ISO 8859 right halves, the CJK
94² sets, UTF-8 segments and extended segments naming a codec.
"""

from __future__ import annotations

import codecs

ESC = 0x1B

# ESC - F: a 96-character set into GR.
_GR_96 = {
    "A": "iso8859-1", "B": "iso8859-2", "C": "iso8859-3", "D": "iso8859-4", "F": "iso8859-7",
    "G": "iso8859-6", "H": "iso8859-8", "L": "iso8859-5", "M": "iso8859-9", "V": "iso8859-10",
    "Y": "iso8859-13", "_": "iso8859-14", "b": "iso8859-15", "f": "iso8859-16",
}
# ESC $ ( F / ESC $ ) F: a 94x94 set; decoded as its EUC form (both bytes with the high bit).
_MULTI_94 = {"A": "gb2312", "B": "euc-jp", "C": "euc-kr"}


def _decode_chunk(data: bytes, charset: str, multibyte: bool) -> str:
    if multibyte:
        data = bytes(b | 0x80 for b in data)
    return data.decode(charset, errors="replace")


def decode_compound_text(raw: bytes) -> str:
    """Decode COMPOUND_TEXT bytes to str; unknown sequences degrade to U+FFFD, never raise."""
    out: list[str] = []
    gl: tuple[str, bool] = ("ascii", False)
    gr: tuple[str, bool] = ("iso8859-1", False)
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte == ESC:
            # Find the end of the escape sequence: intermediates 0x20-0x2F, then a final byte.
            j = i + 1
            while j < n and 0x20 <= raw[j] <= 0x2F:
                j += 1
            if j >= n:
                break
            inter = raw[i + 1:j].decode("latin-1")
            final = chr(raw[j])
            i = j + 1
            if inter == "%" and final == "G":  # UTF-8 until ESC % @
                end = raw.find(b"\x1b%@", i)
                end = n if end < 0 else end
                out.append(raw[i:end].decode("utf-8", errors="replace"))
                i = end + 3
            elif inter.startswith("%/") and i + 2 <= n:  # extended segment: M L name STX data
                length = (raw[i] & 0x7F) * 128 + (raw[i + 1] & 0x7F)
                segment = raw[i + 2:i + 2 + length]
                name, _, payload = segment.partition(b"\x02")
                out.append(_decode_named(name.decode("latin-1"), payload))
                i += 2 + length
            elif inter == "(" and final == "B":
                gl = ("ascii", False)
            elif inter == "(" and final == "J":
                gl = ("ascii", False)  # JIS-Roman: close enough to ASCII for titles
            elif inter == "-" and final in _GR_96:
                gr = (_GR_96[final], False)
            elif inter in ("$(", "$)", "$") and final in _MULTI_94:
                target = (_MULTI_94[final], True)
                if inter == "$(":
                    gl = target
                else:
                    gr = target
            continue
        # A run of plain bytes in one half.
        j = i
        high = byte >= 0x80
        while j < n and raw[j] != ESC and (raw[j] >= 0x80) == high:
            j += 1
        chunk = raw[i:j]
        charset, multibyte = gr if high else gl
        if not high and not multibyte:
            out.append(chunk.decode("latin-1"))  # ASCII plus tab/newline controls
        else:
            out.append(_decode_chunk(chunk, charset, multibyte))
        i = j
    return "".join(out)


def _decode_named(name: str, payload: bytes) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        return payload.decode("latin-1", errors="replace")
    return payload.decode(name, errors="replace")
