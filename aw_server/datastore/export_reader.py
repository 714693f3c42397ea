"""A streaming reader of ActivityWatch JSON exports, for files too big to load whole.

The outer structure (document, buckets, bucket fields, the events list) is walked here;
each value inside it, an event or a bucket's metadata, is decoded whole by the standard
library's C JSON decoder (`raw_decode` on a sliding buffer). Memory stays flat whatever
the file's size, the work per event is one C call, and strings keep whatever JSON allows,
lone UTF-16 surrogates (seen in Windows window titles) included. Accepted shapes:

- `{"buckets": {"<id>": {id, type, client, hostname, created, data, events}}}`
  (ActivityWatch's export, whole or of one bucket), bucket keys in any order;
- `{"buckets": [{id, ...}, ...]}` (the older list form; there `id` must precede
  `events`);
- events with or without `id` (ids are ignored), and an optional top-level
  `"settings": {...}` (written by our backups).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from aw_server.datastore.import_source import (
    Batch,
    ImportSourceError,
    Source,
    SourceBucket,
    StagedEvent,
    created_text,
    parse_time_text,
    stored_json,
)

_EMPTY: dict[str, Any] = {}

_CHUNK = 4 * 1024 * 1024  # characters read at a time
_BLANK = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_SEPARATOR = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


class JsonExportSource(Source):
    kind = "json"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.total = path.stat().st_size
        self._settings: dict[str, Any] = {}

    def settings(self) -> dict[str, Any]:
        """Known once `batches` has run to the end."""
        return self._settings

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]:
        with open(self.path, encoding="utf-8", newline="") as raw:
            reader = _Reader(self, raw, int(cursor) if cursor else 0, size)
            try:
                yield from reader.run()
            except UnicodeDecodeError as exc:
                raise ImportSourceError(self.path, f"not UTF-8 text ({exc.reason} at byte "
                                        f"{exc.start} of a block)") from None
            except RecursionError:
                raise ImportSourceError(self.path, "nested too deeply") from None


class _Reader:
    """A JSON walker for the export's fixed outer shape; every value inside it (an event,
    a bucket's metadata) is decoded whole by the C decoder of the `json` module."""

    def __init__(self, source: JsonExportSource, raw: TextIO, skip: int, size: int) -> None:
        self.source = source
        self.path = source.path
        self.raw = raw
        self.skip = skip
        self.size = size
        self.count = 0
        self.events: list[StagedEvent] = []
        self.buckets: list[SourceBucket] = []
        self.buf = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front of `buf`
        self.eof = False
        self.bytes_read = 0

    def fail(self, what: str) -> ImportSourceError:
        return ImportSourceError(self.path, what)

    # -- buffer ------------------------------------------------------------------------
    def fill(self) -> bool:
        """Append the next chunk; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.raw.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.bytes_read = self.raw.buffer.tell() if hasattr(self.raw, "buffer") else 0
        if self.pos > _CHUNK:
            self.offset += self.pos
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next non-blank character, without consuming it ("" at the end)."""
        while True:
            self.pos = _BLANK.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            where = f"character {self.offset + self.pos}"
            got = repr(found) if found else "the end of the file (it was cut short?)"
            raise self.fail(f"expected {what} at {where}, found {got}")
        self.pos += 1
        return found

    def decode(self) -> Any:
        """The whole JSON value at the current position."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                near_end = exc.pos >= len(self.buf) - 16 or exc.msg.startswith("Unterminated")
                if near_end and self.fill():
                    continue
                hint = "; the file ends there (was it cut short?)" if near_end else ""
                raise self.fail(f"not valid JSON at character {self.offset + exc.pos}: "
                                f"{exc.msg}{hint}") from None
            # A number can end at the buffer's edge and go on in the next chunk.
            if end == len(self.buf) and not isinstance(value, dict | list | str) \
                    and self.fill():
                continue
            self.pos = end
            return value

    def key(self) -> str:
        if self.peek() != '"':
            self.expect('"', "a key")
        value = self.decode()
        self.expect(":", "':'")
        return str(value)

    def batch(self) -> Batch:
        out = Batch(self.buckets, self.events, str(self.count), self.bytes_read)
        self.buckets, self.events = [], []
        return out

    # -- structure ---------------------------------------------------------------------
    def run(self) -> Iterator[Batch]:
        self.fill()
        if self.buf.startswith("\ufeff"):
            self.pos = 1
        if not self.peek():
            raise self.fail("the file is empty")
        if self.peek() != "{":
            raise self.fail("not an ActivityWatch export: the top level is not a JSON object")
        self.pos += 1
        found = False
        while self.peek() != "}":
            name = self.key()
            if name == "buckets":
                found = True
                yield from self.buckets_value()
            elif name == "settings":
                settings = self.decode()
                if not isinstance(settings, dict):
                    raise self.fail("'settings' must be a JSON object")
                self.source._settings = settings
            else:
                self.decode()
            if self.expect(",}", "',' or '}'") == "}":
                break
        else:
            self.pos += 1
        if self.peek():
            raise self.fail(f"unexpected data after the export at character "
                            f"{self.offset + self.pos}")
        if not found:
            raise self.fail("not an ActivityWatch export: no 'buckets' key")
        yield self.batch()

    def buckets_value(self) -> Iterator[Batch]:
        opening = self.expect("{[", "an object or a list of buckets")
        closing = "}" if opening == "{" else "]"
        n = 0
        while self.peek() != closing:
            key = self.key() if opening == "{" else None
            label = repr(key) if key is not None else f"#{n}"
            if self.peek() != "{":
                raise self.fail(f"bucket {label} is not a JSON object")
            yield from self.bucket(key, label)
            n += 1
            if self.expect("," + closing, f"',' or '{closing}'") == closing:
                return
        self.pos += 1

    def bucket(self, key: str | None, label: str) -> Iterator[Batch]:
        self.pos += 1  # the "{"
        meta: dict[str, Any] = {}
        used_id: str | None = None
        while self.peek() != "}":
            name = self.key()
            if name != "events" or self.peek() == "n":
                meta[name] = self.decode()
            else:
                if self.peek() != "[":
                    raise self.fail(f"bucket {label}: 'events' must be a list")
                inner = meta.get("id")
                used_id = inner if isinstance(inner, str) and inner else key
                if used_id is None:
                    raise self.fail(f"bucket {label}: 'id' must come before 'events' in the "
                                    "list form")
                yield from self.event_list(used_id)
            if self.expect(",}", "',' or '}'") == "}":
                break
        else:
            self.pos += 1
        self.buckets.append(self.finish_bucket(key, label, meta, used_id))

    def event_list(self, bucket_id: str) -> Iterator[Batch]:
        """The hot loop: per event one C decode and one separator match, in the common
        case; anything unusual (buffer edge, odd spacing, errors) takes the careful path."""
        self.pos += 1  # the "["
        n = 0
        skip, events, size = self.skip, self.events, self.size
        raw_decode = _DECODER.raw_decode
        separator = _SEPARATOR.match
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            buf, pos = self.buf, self.pos
            try:
                obj, end = raw_decode(buf, pos)
            except json.JSONDecodeError:
                obj = None
            if obj is None or end == len(buf):
                self.pos = pos
                obj = self.decode()
                end = self.pos
            sep = separator(buf, end) if buf is self.buf else None
            if self.count >= skip:
                staged = self.event(bucket_id, obj, n)
                if staged is not None:
                    events.append(staged)
                    if len(events) >= size:
                        yield self.batch()
                        events = self.events
            self.count += 1
            n += 1
            if sep is not None and sep.end() < len(buf):
                self.pos = sep.end()
                if sep.group(1) == "]":
                    return
                continue
            self.pos = end
            if self.expect(",]", "',' or ']'") == "]":
                return

    def finish_bucket(self, key: str | None, label: str, meta: dict[str, Any],
                      used_id: str | None) -> SourceBucket:
        bucket_id = meta.get("id", key)
        if not isinstance(bucket_id, str) or not bucket_id:
            raise self.fail(f"bucket {label} has no valid 'id'")
        if used_id is not None and used_id != bucket_id:
            raise self.fail(f"bucket {label}: its 'id' {bucket_id!r} differs from its key and "
                            "comes after its events")
        for required in ("type", "client", "hostname"):
            if not isinstance(meta.get(required), str):
                raise self.fail(f"bucket {bucket_id!r}: missing or invalid '{required}'")
        data = meta.get("data") or {}
        if not isinstance(data, dict):
            raise self.fail(f"bucket {bucket_id!r}: 'data' must be a JSON object")
        name = meta.get("name")
        return SourceBucket(bucket_id, meta["type"], meta["client"], meta["hostname"],
                            created_text(meta.get("created")), data,
                            name if isinstance(name, str) else None)

    def event(self, bucket_id: str, obj: Any, n: int) -> StagedEvent | None:
        if type(obj) is not dict:
            raise self.fail(f"bucket {bucket_id!r}, event #{n} is not a JSON object")
        conv = self.source.conv
        timestamp = obj.get("timestamp")
        try:
            start = parse_time_text(timestamp)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            where = f"bucket {bucket_id!r}, event #{n}"
            if timestamp is None:
                raise self.fail(f"{where} has no timestamp") from None
            start = conv.start_us(timestamp, where)  # raises with the reason
        duration = obj.get("duration", 0)
        if type(duration) is float and duration >= 0 and duration - duration == 0:
            dur = round(duration * 1_000_000)
        elif duration is None:
            dur = 0
        else:
            dur = conv.duration_us(duration, f"bucket {bucket_id!r}, event #{n}")
        data = obj.get("data", _EMPTY)
        if type(data) is dict:
            text: str | None = stored_json(data) if data else "{}"
        else:
            text = conv.data_value(data)
        return None if text is None else (bucket_id, start, start + dur, text)
