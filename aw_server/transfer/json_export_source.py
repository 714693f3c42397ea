"""Reading an ActivityWatch JSON export for import: a streaming reader, for files too big
to load whole.

The outer structure (document, buckets, bucket fields, the events list) is walked here.
Inside an events list, runs of complete events (about `_RUN` characters) are decoded by
one orjson call each (`run_of_events`), and the usual event is turned into its stored
row inline (`json_event_runs.fast_rows`). Anything orjson would read differently from
`json` goes to `json` (`source_values.loads_deferred`), and whatever a run cannot take (damage, odd
values, the buffer's edge) is decoded one value at a time by the standard library's C
decoder (`raw_decode` on a sliding buffer), which also words the errors. Memory stays
flat whatever the file's size, and strings keep whatever JSON allows, lone UTF-16
surrogates (seen in Windows window titles) included. Accepted shapes:

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

from aw_server.batches import Batch, ImportSourceError, SourceBucket, StagedEvent
from aw_server.transfer.json_event_runs import Encoder, EventRun, fast_rows, run_end
from aw_server.transfer.source import Source
from aw_server.transfer.source_values import (
    MAX_DURATION_S,
    created_text,
    fast_stored_json,
    loads_deferred,
    never_inexact,
    parse_time_text,
    stored_json,
)

_EMPTY: dict[str, Any] = {}
# The keys of a bucket's description (its id may also be its key in the document).
_DESCRIBED = {"type", "client", "hostname", "created", "name", "data"}

_CHUNK = 4 * 1024 * 1024  # characters read at a time
# Characters of events decoded per library call. orjson holds the interpreter lock
# while it decodes, so this also bounds how long the publishing thread can wait for
# the lock (`staging.StagingWriter`): 64 Ki characters take about a millisecond.
_RUN = 64 * 1024
_BLANK = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
# The fewest characters an event takes in an export (`{"timestamp":"20200101"}`, and a
# comma), with room for the reader being up to a buffer ahead of its progress figure.
_MIN_EVENT_CHARS = 24
_AHEAD = 4 * _CHUNK + _RUN


class JsonExportSource(Source):
    kind = "json"
    direct_order = "descending"  # ActivityWatch exports list events newest first

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.total = path.stat().st_size
        self._settings: dict[str, Any] = {}

    def settings(self) -> dict[str, Any]:
        """Known once `batches` has run to the end."""
        return self._settings

    def events_left(self, done: int) -> int:
        return max(0, (self.total or 0) - done + _AHEAD) // _MIN_EVENT_CHARS + 1

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
        self.full_size = size
        self.size = self.batch_size(skip)
        self.count = 0
        self.events: list[StagedEvent] = []
        self.buckets: list[SourceBucket] = []
        self.buf = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front of `buf`
        self.eof = False
        self.bytes_read = 0
        self.careful_until = 0  # events before this file position go one at a time

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

    def batch_size(self, start: int) -> int:
        """Batches start small and double up to the full size, so that the publishing
        thread gets its first batch in a few milliseconds, not after a full batch's
        reading. The size depends only on where the batch starts: a resumed import cuts
        its batches where the interrupted one did (see `direct.DirectPlanner`)."""
        return max(1, min(self.full_size, max(self.full_size // 16, start)))

    def batch(self) -> Batch:
        out = Batch(self.buckets, self.events, str(self.count), self.bytes_read)
        self.buckets, self.events = [], []
        self.size = self.batch_size(self.count)
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
                if meta.keys() >= _DESCRIBED:
                    # Described before its events (as exports are written): known now, so
                    # the bucket can be created as its events are read (`direct.py`).
                    self.buckets.append(self.finish_bucket(key, label, meta, used_id))
                yield from self.event_list(used_id)
            if self.expect(",}", "',' or '}'") == "}":
                break
        else:
            self.pos += 1
        self.buckets.append(self.finish_bucket(key, label, meta, used_id))

    def event_list(self, bucket_id: str) -> Iterator[Batch]:
        """The hot loop: runs of complete events are decoded by one library call each
        (`run`); whatever a run cannot take (a value orjson refuses, damage, the file's
        end) is read one event at a time, which also words the errors."""
        self.pos += 1  # the "["
        if self.peek() == "]":
            self.pos += 1
            return
        n = 0
        while True:
            run = self.run_of_events() or EventRun([self.decode()], stored_json, never_inexact)
            yield from self.stage(bucket_id, run, n)
            n += len(run.objs)
            if self.expect(",]", "',' or ']'") == "]":
                return

    def stage(self, bucket_id: str, run: EventRun, n: int) -> Iterator[Batch]:
        """Stage a run of events (#n onwards in the bucket); a batch is cut after it
        when it has grown to the batch size, so a cursor always falls between runs."""
        objs, encode = run.objs, run.encode
        skip = self.skip - self.count
        self.count += len(objs)
        if skip >= len(objs):
            return
        if skip > 0:
            objs, n = objs[skip:], n + skip
        rows = None
        if encode is fast_stored_json:
            rows = fast_rows(bucket_id, objs, n, self.event, run.inexact)
        if rows is None:
            if run.inexact():
                objs, encode = json.loads(run.text)[max(skip, 0):], stored_json
            found = (self.event(bucket_id, obj, n + i, encode) for i, obj in enumerate(objs))
            rows = [row for row in found if row is not None]
        self.events.extend(rows)
        if len(self.events) >= self.size:
            yield self.batch()

    def run_of_events(self) -> EventRun | None:
        """The complete events from the current position to the last event boundary
        within `_RUN` characters, decoded as one JSON array; None when there is no such
        run here or it does not decode (then the next events go one at a time)."""
        while len(self.buf) - self.pos < _RUN and self.fill():
            pass
        buf, pos = self.buf, self.pos
        if self.offset + pos < self.careful_until:
            return None
        limit = min(len(buf), pos + _RUN)
        for _ in range(2):
            found = run_end(buf, pos, limit)
            if found is None:
                return None
            cut = found
            text = "[" + buf[pos:cut] + "]"
            try:
                objs, encode, inexact = loads_deferred(text)
            except json.JSONDecodeError as exc:
                # Often the run reached past the list's end into the next bucket: the
                # text before the spot where decoding failed is the next try.
                limit = pos + exc.pos - 1
                continue
            except (ValueError, RecursionError):
                break
            self.pos = cut
            return EventRun(objs, encode, inexact, text)
        # Damage, or values orjson and json both refuse in a run: one at a time up to there.
        self.careful_until = self.offset + cut
        return None

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

    def event(self, bucket_id: str, obj: Any, n: int, encode: Encoder) -> StagedEvent | None:
        """One event in stored form; `encode` is the `data` encoder that fits the decoder
        `obj` came from."""
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
        if type(duration) is float and 0 <= duration <= MAX_DURATION_S:
            dur = round(duration * 1_000_000)
        elif duration is None:
            dur = 0
        else:
            dur = conv.duration_us(duration, f"bucket {bucket_id!r}, event #{n}")
        data = obj.get("data", _EMPTY)
        if type(data) is dict:
            text: str | None = encode(data) if data else "{}"
        else:
            text = conv.data_value(data, encode)
        return None if text is None else (bucket_id, start, start + dur, text)
