"""Readers for ActivityWatch's own files: aw-server's peewee database, aw-server-rust's
sqlite database (schema versions 1 to 5) and JSON exports (dict or list form).

Each reader turns its file into a stream of `Batch`es: bucket metadata plus events in
the form the store keeps them (integer microseconds, `data` as compact JSON text). The
import in `transfer.py` stages those batches and publishes them; nothing here writes.

The source is never modified. A database without a `-wal` file is opened `immutable`
(no locks, no `-shm` file); one with a `-wal` file (its server is running, or crashed)
is copied with its WAL to a temporary folder first and read from the copy.

What counts as damage, and what is only an odd value ActivityWatch itself stored:
- Damage raises `ImportSourceError` naming the file and the spot: unreadable SQLite,
  missing tables, JSON that is invalid or truncated, a bucket without `type`, an event
  without a parsable timestamp, `data` that is not JSON.
- Odd values are kept as closely as we can represent them and counted in `notes`: a
  negative duration (aw-server 0.12.0 accepts them) is stored as 0, `data: null` as `{}`;
  an event whose `data` is JSON but not an object cannot be stored and is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from aw_server import dirs
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def parse_time_text(text: str) -> int:
    """The timestamp texts both servers store: ISO 8601 with `T` or a space, `Z` or an
    offset or nothing (UTC), up to nanoseconds. Raises ValueError."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip(), count=1))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
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
            value = json.loads(raw)
        except ValueError as exc:
            raise ImportSourceError(self.path, f"{where}: data is not valid JSON ({exc})") from None
        text = self.data_value(value)
        if len(self.texts) > 200_000:
            self.texts.clear()
        self.texts[raw] = text
        return text

    def data_value(self, value: Any) -> str | None:
        if value is None:
            self.notes["data null stored as {}"] += 1
            return "{}"
        if not isinstance(value, dict):
            self.notes["data not an object: event skipped"] += 1
            return None
        return stored_json(value)

    def duration_us(self, seconds: Any, where: str) -> int:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is not a number")
        if not math.isfinite(seconds):
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is not finite")
        if seconds < 0:
            self.notes["negative duration stored as 0"] += 1
            return 0
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

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total: int | None = None
        self.conv = _Events(path)

    @property
    def notes(self) -> Counter[str]:
        return self.conv.notes

    def fingerprint(self) -> str:
        return _fingerprint([self.path])

    def settings(self) -> dict[str, Any]:
        return {}

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fingerprint(paths: list[Path]) -> str:
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


class _SqliteSource(Source):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.conn = self._open_readonly()

    def _open_readonly(self) -> sqlite3.Connection:
        wal = Path(f"{self.path}-wal")
        target = self.path
        try:
            if wal.exists() and wal.stat().st_size > 0:
                # Its server may be running: read a copy so the original is never touched.
                self._tmp = tempfile.TemporaryDirectory(prefix="aw-import-")
                target = Path(self._tmp.name) / self.path.name
                shutil.copyfile(self.path, target)
                shutil.copyfile(wal, f"{target}-wal")
                conn = sqlite3.connect(target)
            else:
                conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro&immutable=1",
                                       uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise ImportSourceError(self.path, f"not a readable SQLite database ({exc})") from None
        return conn

    def fingerprint(self) -> str:
        return _fingerprint([self.path, Path(f"{self.path}-wal")])

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ImportSourceError(self.path, f"the database is damaged ({exc})") from None

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self._query(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self.conn.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _event_batches(self, table: str, columns: str, cursor: str | None, size: int,
                       buckets: dict[Any, SourceBucket], convert: Any) -> Iterator[Batch]:
        """Keyset pagination on the source's event id: resumable and index-driven."""
        last = int(cursor) if cursor else -(2**63)
        done = 0
        if cursor:
            done = self._query(f"SELECT count(*) FROM {table} WHERE id <= ?", (last,))[0][0]
        sql = f"SELECT {columns} FROM {table} WHERE id > ? ORDER BY id LIMIT ?"
        while True:
            rows = self._query(sql, (last, size))
            if not rows:
                return
            events: list[StagedEvent] = []
            for row in rows:
                bucket = buckets.get(row[1])
                if bucket is None:
                    self.notes["event of a missing bucket: skipped"] += 1
                    continue
                staged = convert(bucket.id, row)
                if staged is not None:
                    events.append(staged)
            last = rows[-1][0]
            done += len(rows)
            yield Batch([], events, str(last), done)


class PeeweeSource(_SqliteSource):
    """aw-server (Python): `bucketmodel` and `eventmodel`, with or without `datastr` on
    buckets (added by aw-core's auto_migrate) and whichever indexes it has."""

    kind = "aw-server"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.total = self._query("SELECT count(*) FROM eventmodel")[0][0]

    def _buckets(self) -> dict[Any, SourceBucket]:
        has_data = "datastr" in self.columns("bucketmodel")
        data_col = "datastr" if has_data else "NULL"
        out: dict[Any, SourceBucket] = {}
        for key, bid, created, name, type_, client, hostname, datastr in self._query(
            f"SELECT key, id, created, name, type, client, hostname, {data_col} "
            "FROM bucketmodel ORDER BY key"
        ):
            data: Any = {}
            if datastr:
                try:
                    data = json.loads(datastr)
                except ValueError:
                    raise ImportSourceError(self.path, f"bucket {bid!r}: data is not valid JSON"
                                            ) from None
            out[key] = SourceBucket(str(bid), str(type_), str(client), str(hostname),
                                    created_text(created), data if isinstance(data, dict) else {},
                                    name)
        return out

    def settings(self) -> dict[str, Any]:
        """Newer aw-server keeps settings in `settings.json` in its config folder; one
        beside the database is read too (a copied install)."""
        candidates = [self.path.parent / "settings.json"]
        standard = dirs.data_dir("aw-server") / "peewee-sqlite.v2.db"
        with contextlib.suppress(OSError):
            if self.path.resolve() == standard.resolve():
                candidates.append(dirs.config_dir("aw-server") / "settings.json")
        for candidate in candidates:
            if candidate.is_file():
                try:
                    value = json.loads(candidate.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ImportSourceError(candidate, f"not valid JSON ({exc})") from None
                if isinstance(value, dict):
                    return value
        return {}

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]:
        buckets = self._buckets()
        conv = self.conv

        texts = conv.texts

        def convert(bucket_id: str, row: tuple[Any, ...]) -> StagedEvent | None:
            event_id, _, timestamp, duration, datastr = row
            try:
                start = parse_time_text(timestamp)
            except (TypeError, ValueError):
                start = conv.start_us(timestamp, f"eventmodel row {event_id}")
            if type(duration) in (float, int) and duration >= 0 and duration - duration == 0:
                dur = round(duration * 1_000_000)
            else:
                dur = conv.duration_us(float(duration) if duration is not None else 0.0,
                                       f"eventmodel row {event_id}")
            text = texts.get(datastr) if datastr is not None else None
            if text is None:
                text = conv.data_text(datastr, f"eventmodel row {event_id}")
                if text is None:
                    return None
            return bucket_id, start, start + dur, text

        yield Batch(list(buckets.values()), [], cursor or "", 0)
        yield from self._event_batches("eventmodel", "id, bucket_id, timestamp, duration, datastr",
                                       cursor, size, buckets, convert)


class RustSource(_SqliteSource):
    """aw-server-rust: `buckets` (`name` holds the bucket id), `events` with nanosecond
    `starttime`/`endtime`, and from schema version 4 `key_value` (settings are the rows
    whose key starts with `settings.`)."""

    kind = "aw-server-rust"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.version = int(self._query("PRAGMA user_version")[0][0])
        self.total = self._query("SELECT count(*) FROM events")[0][0]

    def _buckets(self) -> dict[Any, SourceBucket]:
        # v2 had a `data` column that v3 renamed away as broken; read it only if valid.
        data_col = "data" if "data" in self.columns("buckets") else "NULL"
        out: dict[Any, SourceBucket] = {}
        for key, name, type_, client, hostname, created, datastr in self._query(
            f"SELECT id, name, type, client, hostname, created, {data_col} FROM buckets "
            "ORDER BY id"
        ):
            data: Any = {}
            if datastr:
                try:
                    data = json.loads(datastr)
                except ValueError:
                    self.notes["unreadable bucket data replaced by {}"] += 1
            out[key] = SourceBucket(str(name), str(type_), str(client), str(hostname),
                                    created_text(created), data if isinstance(data, dict) else {})
        return out

    def settings(self) -> dict[str, Any]:
        tables = {r[0] for r in self._query("SELECT name FROM sqlite_master WHERE type='table'")}
        if "key_value" not in tables:
            return {}
        out: dict[str, Any] = {}
        for key, value in self._query(
            "SELECT key, value FROM key_value WHERE key LIKE 'settings.%' ORDER BY key"
        ):
            try:
                out[str(key)[len("settings."):]] = json.loads(value)
            except (TypeError, ValueError):
                raise ImportSourceError(self.path, f"setting {key!r} is not valid JSON") from None
        return out

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]:
        buckets = self._buckets()
        conv = self.conv

        def convert(bucket_id: str, row: tuple[Any, ...]) -> StagedEvent | None:
            event_id, _, start_ns, end_ns, datastr = row
            where = f"events row {event_id}"
            if not isinstance(start_ns, int) or not isinstance(end_ns, int):
                raise ImportSourceError(self.path, f"{where}: starttime/endtime not integers")
            start, end = start_ns // 1000, end_ns // 1000
            if not MIN_US <= start <= MAX_US:
                raise ImportSourceError(self.path, f"{where}: starttime out of range")
            if end < start:
                conv.notes["negative duration stored as 0"] += 1
                end = start
            text = conv.data_text(datastr, where)
            return None if text is None else (bucket_id, start, end, text)

        yield Batch(list(buckets.values()), [], cursor or "", 0)
        yield from self._event_batches("events", "id, bucketrow, starttime, endtime, data",
                                       cursor, size, buckets, convert)


# -- finding and opening -------------------------------------------------------------
def open_source(path: Path) -> Source:
    """The right reader for the file, told apart by content, not by name."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ImportSourceError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise ImportSourceError(path, "the file is empty")
    if head != SQLITE_MAGIC:
        from aw_server.datastore.export_reader import JsonExportSource

        return JsonExportSource(path)
    probe = _SqliteSource(path)
    try:
        tables = {r[0] for r in probe._query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        probe.close()
    if {"bucketmodel", "eventmodel"} <= tables:
        return PeeweeSource(path)
    if {"buckets", "events"} <= tables:
        return RustSource(path)
    raise ImportSourceError(
        path, "a SQLite database, but not one of ActivityWatch's (no bucketmodel/eventmodel "
        f"or buckets/events tables; found {sorted(tables) or 'none'})")


def standard_database_paths(*, testing: bool = False) -> list[Path]:
    """Where aw-server and aw-server-rust keep their databases (honours AW_BASE_DIR)."""
    suffix = "-testing" if testing else ""
    return [
        dirs.data_dir("aw-server-rust") / f"sqlite{suffix}.db",
        dirs.data_dir("aw-server") / f"peewee-sqlite{suffix}.v2.db",
    ]


def find_activitywatch_databases(*, testing: bool = False) -> list[Path]:
    """The ActivityWatch databases present in the standard places, newest server first."""
    found = []
    for path in standard_database_paths(testing=testing):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size > 0:
                found.append(path)
    return found
