"""What the stores keep in memory about the database, shared by all of them.

Every event read looks its bucket up by id (key, read-only flag, longest event), every
heartbeat wants the bucket's newest event, and every event insert takes the next event
id: reading those from SQLite each time would cost a query per request. The stores
(`BucketStore`, `EventStore`, `ImportStore`, `SyncStore`) all read and update this one
object, and `write()` rebuilds it from the database when a transaction rolls back, so
memory never disagrees with what was committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from aw_server.datastore.database import Database
from aw_server.datastore.rows import BucketRow
from aw_server.errors import Forbidden, NoSuchBucket
from aw_server.models import Event


class BucketCache:
    """Live buckets by id (`rows`), each bucket's newest event by bucket key (`newest`,
    filled by heartbeats, dropped by any other write to the bucket), and the next free
    event id (`next_event_id`). Only touched under the database's write lock."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows: dict[str, BucketRow] = {}
        self.newest: dict[int, Event] = {}
        self.next_event_id = 1
        self.load()

    def load(self) -> None:
        """Read everything again from the database (at start, and after a rollback)."""
        conn = self.db.conn()
        self.rows = {
            bucket_id: BucketRow(key, bucket_id, bool(readonly), max_duration,
                                 self.db.current_seq)
            for key, bucket_id, readonly, max_duration in conn.execute(
                "SELECT key, id, readonly, max_duration FROM bucket WHERE deleted = 0 ORDER BY key"
            )
        }
        self.newest = {}
        top = conn.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0),"
            " coalesce((SELECT max(id) FROM event), 0))"
        ).fetchone()[0]
        self.next_event_id = int(top or 0) + 1

    def reload(self) -> None:
        """Re-read bucket rows written by another process (the query worker's view)."""
        with self.db.lock:
            self.load()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction whose in-memory state is rebuilt if it rolls back."""
        try:
            with self.db.write() as conn:
                yield conn
        except BaseException:
            with self.db.lock:
                self.load()
            raise

    def row(self, bucket_id: str) -> BucketRow:
        """The live bucket `bucket_id`; `NoSuchBucket` if there is none."""
        found = self.rows.get(bucket_id)
        if found is None:
            raise NoSuchBucket(bucket_id)
        return found

    def writable(self, bucket_id: str) -> BucketRow:
        """Like `row`, refusing a read-only mirror of another device's bucket."""
        found = self.row(bucket_id)
        if found.readonly:
            raise Forbidden(f"bucket '{bucket_id}' is a read-only mirror of another device")
        return found

    def take_event_ids(self, n: int) -> int:
        """`n` consecutive fresh event ids, the first returned; only inside `write()`."""
        first = self.next_event_id
        self.next_event_id += n
        return first

    def grow_max_duration(self, conn: sqlite3.Connection, row: BucketRow, duration: int
                          ) -> None:
        """Called by every write of own events, so it also marks the bucket as changed."""
        row.last_seq = self.db.current_seq
        if duration > row.max_duration:
            # Any bound at least as long as the longest event keeps range reads exact, so
            # grow it geometrically: a heartbeat that keeps extending the longest event
            # then writes the bucket row a few dozen times in its life, not every beat.
            grown = max(duration, min(2 * row.max_duration, duration + 3_600_000_000), 60_000_000)
            conn.execute("UPDATE bucket SET max_duration = ? WHERE key = ?", (grown, row.key))
            row.max_duration = grown
