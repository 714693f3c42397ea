"""Reading ActivityWatch's own databases for import: aw-server's peewee database and
aw-server-rust's sqlite database (schema versions 1 to 5), both opened read-only: a file
without a `-wal` is opened `immutable`; one with a `-wal` (its server is running, or
crashed) is copied with its WAL to a temporary folder and read from the copy.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from aw_server import dirs
from aw_server.batches import Batch, ImportSourceError, SourceBucket, StagedEvent
from aw_server.models import MAX_US, MIN_US
from aw_server.transfer.source import Source, fingerprint_files
from aw_server.transfer.source_values import (
    EPOCH,
    MAX_DURATION_S,
    ONE_US,
    created_text,
    parse_time_text,
)


class SqliteSource(Source):
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
        return fingerprint_files([self.path, Path(f"{self.path}-wal")])

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

    def _index_order(self, table: str, *wanted: tuple[str, ...]) -> tuple[str, ...] | None:
        """The first of `wanted` that is exactly the columns of an index of the table
        (plain, ascending, binary collation; its rows then follow in id order) and whose
        columns are NOT NULL: reading in that order, then by id, is an index walk, and
        brings each bucket's events together, usually in time order, which publishing
        copies fastest (`Staging.direction`)."""
        not_null = {row[1] for row in self._query(f"PRAGMA table_info({table})") if row[3]}
        indexes = []
        for row in self._query(f"PRAGMA index_list({table})"):
            if row[4]:  # partial
                continue
            info = [r for r in self._query(f"PRAGMA index_xinfo({row[1]})") if r[5]]
            if all(r[3] == 0 and str(r[4]).upper() == "BINARY" for r in info):
                indexes.append(tuple(r[2] for r in info))
        for columns in wanted:
            if set(columns) <= not_null and columns in indexes:
                return columns
        return None

    def _event_batches(self, table: str, columns: str, cursor: str | None, size: int,
                       buckets: dict[Any, SourceBucket], convert: Any,
                       order: tuple[str, ...] | None = None) -> Iterator[Batch]:
        """Keyset pagination, resumable and index-driven: on `order` (columns that lead
        `columns`, after the id) then id, or on the id alone. The cursor is the key of the
        last row read: a JSON list, or the id (also what older versions wrote)."""
        if cursor and not cursor.startswith("["):
            order = None  # a job begun in id order continues in it
        keys = (*(order or ()), "id")
        key_sql = f"({', '.join(keys)})"
        marks = ", ".join("?" * len(keys))
        positions = [0] if order is None else [*range(1, len(keys)), 0]
        last: list[Any] = json.loads(cursor) if cursor and order else \
            [int(cursor)] if cursor else []
        done = 0
        if last:
            done = self._query(f"SELECT count(*) FROM {table} WHERE {key_sql} <= ({marks})",
                               tuple(last))[0][0]
        sql = (f"SELECT {columns} FROM {table} WHERE {key_sql} > ({marks}) "
               f"ORDER BY {', '.join(keys)} LIMIT ?")
        first = f"SELECT {columns} FROM {table} ORDER BY {', '.join(keys)} LIMIT ?"
        while True:
            rows = self._query(sql, (*last, size)) if last else self._query(first, (size,))
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
            last = [rows[-1][i] for i in positions]
            done += len(rows)
            yield Batch([], events, json.dumps(last) if order else str(last[0]), done)


class PeeweeSource(SqliteSource):
    """aw-server (Python): `bucketmodel` and `eventmodel`, with or without `datastr` on
    buckets (added by aw-core's auto_migrate) and whichever indexes it has."""

    kind = "aw-server"
    direct_order = "ascending"  # read in (bucket, timestamp) order when indexed so

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
        fromisoformat = datetime.fromisoformat

        def convert(bucket_id: str, row: tuple[Any, ...]) -> StagedEvent | None:
            """The usual row (aware timestamp, a finite duration >= 0, data seen before)
            in a few C calls; any other by `convert_any`."""
            _, _, timestamp, duration, datastr = row
            text = texts.get(datastr)
            if text is not None and (type(duration) is float or type(duration) is int) \
                    and 0 <= duration <= MAX_DURATION_S:
                try:
                    start = (fromisoformat(timestamp) - EPOCH) // ONE_US
                except (TypeError, ValueError):  # naive (see parse_time_text) or unusual
                    start = MIN_US - 1
                if MIN_US <= start <= MAX_US:
                    return bucket_id, start, start + round(duration * 1_000_000), text
            return convert_any(bucket_id, row)

        def convert_any(bucket_id: str, row: tuple[Any, ...]) -> StagedEvent | None:
            event_id, _, timestamp, duration, datastr = row
            try:
                start = parse_time_text(timestamp)
            except (TypeError, ValueError):
                start = conv.start_us(timestamp, f"eventmodel row {event_id}")
            if type(duration) in (float, int) and 0 <= duration <= MAX_DURATION_S:
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
                                       cursor, size, buckets, convert,
                                       self._index_order("eventmodel", ("bucket_id", "timestamp")))


class RustSource(SqliteSource):
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
        order = self._index_order("events", ("bucketrow",))
        yield from self._event_batches("events", "id, bucketrow, starttime, endtime, data",
                                       cursor, size, buckets, convert, order)


