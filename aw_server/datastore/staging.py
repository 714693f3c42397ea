"""The staging file of one import: what was read from the source, waiting to be published.

It lives beside the database (`<db>.import-<job>.sqlite`) rather than inside it, so a
big import never leaves the main file bloated with freed pages, and throwing a failed
import away is deleting one file. Each batch from the source is committed together with
the source cursor after it, so an interrupted read continues where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from aw_server.datastore.import_source import Batch, SourceBucket

_TABLES = [
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS bucket (
        ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, meta TEXT)""",
    """CREATE TABLE IF NOT EXISTS staged (
        bucket INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
        data TEXT NOT NULL)""",
]


class Staging:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = wal")
        self.conn.execute("PRAGMA synchronous = normal")
        for statement in _TABLES:
            self.conn.execute(statement)
        self._ords: dict[str, int] = dict(
            (bucket_id, ord_) for ord_, bucket_id in self.conn.execute("SELECT ord, id FROM bucket")
        )

    # -- state -----------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        found = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else default

    def _put(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                          (key, json.dumps(value)))

    # -- reading phase ------------------------------------------------------------------
    def _ord(self, bucket_id: str) -> int:
        found = self._ords.get(bucket_id)
        if found is None:
            cur = self.conn.execute("INSERT INTO bucket (id) VALUES (?)", (bucket_id,))
            found = self._ords[bucket_id] = int(cur.lastrowid or 0)
        return found

    def add(self, batch: Batch, notes: Counter[str]) -> None:
        """One batch and the cursor after it, atomically."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for bucket in batch.buckets:
                self._ord(bucket.id)
                meta = {"type": bucket.type, "client": bucket.client,
                        "hostname": bucket.hostname, "created": bucket.created,
                        "data": bucket.data, "name": bucket.name}
                # The first description of a bucket id wins, as in one import document.
                conn.execute("UPDATE bucket SET meta = ? WHERE id = ? AND meta IS NULL",
                             (json.dumps(meta), bucket.id))
            ords = self._ords
            rows = []
            for bucket_id, start, end, data in batch.events:
                ord_ = ords.get(bucket_id)
                if ord_ is None:
                    ord_ = self._ord(bucket_id)
                rows.append((ord_, start, end, data))
            conn.executemany("INSERT INTO staged (bucket, start, end, data) VALUES (?, ?, ?, ?)",
                             rows)
            self._put("cursor", batch.cursor)
            self._put("done", batch.done)
            self._put("notes", dict(notes))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._ords = dict((b, o) for o, b in conn.execute("SELECT ord, id FROM bucket"))
            raise

    def finish(self, settings: dict[str, Any]) -> None:
        """Reading is complete: index for publishing in time order, record the settings."""
        missing = [r[0] for r in self.conn.execute("SELECT id FROM bucket WHERE meta IS NULL")]
        if missing:
            raise ValueError(f"events for buckets without a description: {missing[:5]}")
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("CREATE INDEX IF NOT EXISTS staged_order ON staged (bucket, start)")
        self._put("settings", settings)
        self._put("read", True)
        self.conn.execute("COMMIT")

    # -- publishing phase ---------------------------------------------------------------
    def buckets(self) -> list[tuple[int, SourceBucket]]:
        out = []
        for ord_, bucket_id, meta in self.conn.execute(
            "SELECT ord, id, meta FROM bucket ORDER BY id"
        ):
            m = json.loads(meta)
            out.append((ord_, SourceBucket(bucket_id, m["type"], m["client"], m["hostname"],
                                           m["created"], m["data"], m["name"])))
        return out

    def count(self, ord_: int | None = None) -> int:
        if ord_ is None:
            return int(self.conn.execute("SELECT count(*) FROM staged").fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM staged WHERE bucket = ?",
                                     (ord_,)).fetchone()[0])

    def count_before(self, ord_: int, start: int) -> int:
        return int(self.conn.execute(
            "SELECT count(*) FROM staged WHERE bucket = ? AND start <= ?", (ord_, start)
        ).fetchone()[0])

    def window(self, ord_: int, after: int | None, size: int) -> list[tuple[int, int, str]]:
        """The next rows of a bucket in start order; never splits rows of equal start, so
        a window holds every staged copy of any event it holds."""
        low = -(2**63) if after is None else after
        params: tuple[int, ...]
        edge = self.conn.execute(
            "SELECT start FROM staged WHERE bucket = ? AND start > ? ORDER BY start "
            "LIMIT 1 OFFSET ?", (ord_, low, size - 1)
        ).fetchone()
        if edge is None:
            sql, params = ("SELECT start, end, data FROM staged WHERE bucket = ? AND start > ? "
                           "ORDER BY start", (ord_, low))
        else:
            sql = ("SELECT start, end, data FROM staged WHERE bucket = ? AND start > ? "
                   "AND start <= ? ORDER BY start")
            params = (ord_, low, edge[0])
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()

    def remove(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{self.path}{suffix}")
