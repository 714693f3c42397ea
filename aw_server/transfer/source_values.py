"""The value conversions every import reader shares: ActivityWatch's timestamp texts to
integer microseconds, and `data` values to the compact JSON text the store keeps.

They are exact (the stored text is what `rows.dump_json` would write) and fast: the
readers run them on every event of files with millions of them, so the JSON paths go
through orjson wherever it gives the same value and text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import orjson

from aw_server.datastore.rows import dump_json
from aw_server.models import MAX_US, MIN_US, format_us

_FRACTION = re.compile(r"(\.\d{6})\d+")


# -- value conversion ------------------------------------------------------------------
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DURATION_S = (MAX_US - MIN_US) / 1_000_000  # longer cannot be a stored event
_NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_US = timedelta(microseconds=1)  # (moment - EPOCH) // ONE_US: exact µs, one C call
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def parse_time_text(text: str) -> int:
    """The timestamp texts both servers store: ISO 8601 with `T` or a space, `Z` or an
    offset or nothing (UTC), up to nanoseconds. Raises ValueError."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip(), count=1))
    # timedelta // timedelta is the exact count of microseconds, in one C call; a naive
    # time is UTC, so it is measured from the naive epoch instead of being converted.
    us: int = (moment - (EPOCH if moment.tzinfo is not None else _NAIVE_EPOCH)) // ONE_US
    if not MIN_US <= us <= MAX_US:
        raise ValueError(f"out of range: {text!r}")
    return us


def _no_default(value: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# The C encoder `json.dumps` builds on each call, built once (no circular-reference check:
# the values come from a JSON decoder, so they cannot be circular).
_C_ENCODE = (c_make_encoder(None, _no_default, encode_basestring, None, ":", ",", False,
                            False, True) if c_make_encoder is not None else None)


def stored_json(value: dict[str, Any]) -> str:
    """`rows.dump_json` with a prebuilt encoder: the same text, a little faster."""
    text = "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else _COMPACT.encode(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = dump_json(value)
    return text


# orjson writes floats below 1e-4 differently from Python's repr (`1e-7` for `1e-07`,
# `0.00001` for `1e-05`); every such float gives one of these patterns in its output
# (tests/aw_server/transfer/test_fast_import.py), so their presence sends the value to
# the standard encoder. A string that merely contains one costs only that detour.
_FLOAT_FORMS_DIFFER = re.compile(r"[0-9]e-|0\.0000")
# orjson reads integers beyond 64 bits as floats, where `json` keeps them exact: a text
# with a run of 19 digits is decoded by `json` (a string holding one costs the detour).
# Found by mapping every digit to "0" (bytes.translate is a plain table lookup) and
# looking for 19 zeros: a regex takes ten times as long.
_ALL_DIGITS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 19


def _orjson_floats_as_guarded() -> bool:
    """Whether this orjson writes floats as Python does, but for the forms the guard above
    catches (checked at import, as a future orjson could format them otherwise; without
    it, every value is encoded by `stored_json`)."""
    probes = [1e16, 1e22, 1.5e300, 1.2345678901234568e+20, 1e15, 1e-5, 1e-7, 0.0001,
              5e-324, 1.7976931348623157e308, -0.0, 0.1, 1.0, 2.5, 123456.789, 1 / 3]
    for number in probes:
        text = orjson.dumps(number).decode()
        if text != repr(number) and not _FLOAT_FORMS_DIFFER.search(text):
            return False
    return True


ORJSON_FLOATS_OK = _orjson_floats_as_guarded()


def fast_stored_json(value: dict[str, Any]) -> str:
    """`stored_json` for a value decoded by `orjson.loads` (so without NaN, infinities,
    lone surrogates or integers beyond 64 bits): the same text, four times faster."""
    if not ORJSON_FLOATS_OK:
        return stored_json(value)
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits
        return stored_json(value)
    # Substring tests on the text first: much cheaper than the regex, and than `in` on
    # bytes (which first tries its argument as an integer).
    if ("e-" in text or "0.0000" in text) and _FLOAT_FORMS_DIFFER.search(text):
        return stored_json(value)
    return text


def loads_exact(text: str) -> tuple[Any, Callable[[dict[str, Any]], str]]:
    """`json.loads(text)`, by orjson where that gives the same value, with the encoder
    to use for what it returned. Raises ValueError as `json.loads` does."""
    value, encode, inexact = loads_deferred(text)
    if inexact():
        return json.loads(text), stored_json
    return value, encode


def loads_deferred(text: str) -> tuple[Any, Callable[[dict[str, Any]], str],
                                         Callable[[], bool]]:
    """`loads_exact`, with its look for integers beyond 64 bits (which orjson reads as
    floats) left to the caller: `inexact()` makes it, once. A run of events needs it
    only when an event leaves the fast path or its `data` has a float in exponent form
    (as every float from such an integer is). The look passes over every byte: it was
    5% of the instructions of reading an export (counted with callgrind)."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # lone surrogates: only `json` takes them
        return json.loads(text), stored_json, never_inexact
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:  # NaN, lone surrogates, huge exponents, or invalid
        return json.loads(text), stored_json, never_inexact
    return value, fast_stored_json, cache(lambda: _LONG_INTEGER in
                                          raw.translate(_ALL_DIGITS_ZERO))


def never_inexact() -> bool:
    """`inexact` for values `json` decoded."""
    return False


def created_text(value: Any) -> str:
    """A bucket's `created` in aw-server's wire form; an unparsable one is kept as is."""
    if value is None:
        return datetime.now(UTC).isoformat()
    try:
        return format_us(parse_time_text(str(value)))
    except ValueError:
        return str(value)
