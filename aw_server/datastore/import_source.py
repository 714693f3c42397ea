"""What every import reader yields, and the conversions they share.

A reader (`activitywatch_db.py` for the two servers' databases, `export_reader.py` for
JSON exports) turns its file into `Batch`es: bucket metadata plus events in the form the
store keeps them (integer microseconds, `data` as compact JSON text). Damage raises
`ImportSourceError` naming the file and the spot; odd values ActivityWatch itself stored
are kept as closely as possible and counted in `Source.notes` (see `legacy_import.py`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import orjson

from aw_server.datastore.rows import dump_json
from aw_server.errors import BadRequest
from aw_server.models import MAX_US, MIN_US, format_us

SQLITE_MAGIC = b"SQLite format 3\x00"
_FRACTION = re.compile(r"(\.\d{6})\d+")


class ImportSourceError(BadRequest):
    """The source file is damaged or is not an ActivityWatch file; nothing was imported."""

    def __init__(self, path: Path | str, what: str) -> None:
        super().__init__(f"{path}: {what}")
        self.path = str(path)
        self.what = what


@dataclass(slots=True)
class SourceBucket:
    id: str
    type: str
    client: str
    hostname: str
    created: str
    data: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


# One staged event: bucket id, start µs, end µs, data as stored JSON text.
StagedEvent = tuple[str, int, int, str]


@dataclass(slots=True)
class Batch:
    buckets: list[SourceBucket]
    events: list[StagedEvent]
    cursor: str  # where to continue after this batch (opaque to the caller)
    done: int  # progress units consumed so far (rows or bytes)


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
# (tests/aw_server/datastore/test_fast_import.py), so their presence sends the value to
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


class _Events:
    """Turns source values into stored rows and keeps the tally of odd values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: Counter[str] = Counter()
        self.texts: dict[str, str | None] = {}

    def data_text(self, raw: str | None, where: str) -> str | None:
        """Stored text for a source `data` text; None means "skip this event"."""
        if raw is None:
            self.notes["data null stored as {}"] += 1
            return "{}"
        found = self.texts.get(raw, "")
        if found != "":
            if found is None:
                self.notes["data not an object: event skipped"] += 1
            return found
        try:
            value, encode = loads_exact(raw)
        except ValueError as exc:
            raise ImportSourceError(self.path, f"{where}: data is not valid JSON ({exc})") from None
        text = self.data_value(value, encode)
        if len(self.texts) > 200_000:
            self.texts.clear()
        self.texts[raw] = text
        return text

    def data_value(self, value: Any, encode: Callable[[dict[str, Any]], str] = stored_json
                   ) -> str | None:
        """`encode` is `fast_stored_json` for values orjson decoded."""
        if value is None:
            self.notes["data null stored as {}"] += 1
            return "{}"
        if not isinstance(value, dict):
            self.notes["data not an object: event skipped"] += 1
            return None
        return encode(value)

    def duration_us(self, seconds: Any, where: str) -> int:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is not a number")
        if not math.isfinite(seconds):
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is not finite")
        if seconds < 0:
            self.notes["negative duration stored as 0"] += 1
            return 0
        if seconds > MAX_DURATION_S:  # checked before scaling: 1e308 * 1e6 is infinite
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is too large")
        return round(seconds * 1_000_000)

    def start_us(self, text: Any, where: str) -> int:
        if not isinstance(text, str):
            raise ImportSourceError(self.path, f"{where}: timestamp {text!r} is not a string")
        try:
            return parse_time_text(text)
        except ValueError:
            raise ImportSourceError(self.path, f"{where}: unparsable timestamp {text!r}") from None


# -- sources ---------------------------------------------------------------------------
class Source:
    """Base of the three readers."""

    kind = ""
    # How a bucket's events are listed when all of a bucket's first batch start at the
    # same moment ("ascending", oldest first, or "descending"); None: not in time order
    # reliably enough to publish them as they are read (see `direct.py`).
    direct_order: str | None = None

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total: int | None = None
        self.conv = _Events(path)

    @property
    def notes(self) -> Counter[str]:
        return self.conv.notes

    def fingerprint(self) -> str:
        return fingerprint_files([self.path])

    def settings(self) -> dict[str, Any]:
        return {}

    def events_left(self, done: int) -> int:
        """The most events the source can hold after `done` progress units (rows)."""
        return max(0, (self.total or 0) - done)

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fingerprint_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if not path.exists():
            continue
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(65536))
            if stat.st_size > 65536:
                handle.seek(-65536, os.SEEK_END)
                digest.update(handle.read(65536))
    return digest.hexdigest()[:32]


