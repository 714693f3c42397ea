"""The persistent heartbeat queue: one SQLite file per watcher, in the data dir.

Why SQLite and not a list in memory or a JSON file: a watcher must never lose what it
observed, whether the server is down, answers 500, or the watcher itself is killed.
Every heartbeat is written here before anything is sent, and an item is deleted only
after the server acknowledged it, in the same file, so a crash at any point leaves
either the item or its acknowledgement behind, never neither.

Three tables:
- `items`: FIFO of heartbeats to send (`bucket`, `pulsetime`, event JSON).
- `pending`: the client's pre-merge cache, one row per bucket. Keeping it on disk is
  what makes `kill -9` lossless: at the next start the cached event becomes an item.
- `dead_letter`: items the server refused with a 4xx, with status and response body,
  kept for inspection (`sqlite3 <file> 'select * from dead_letter'`), never dropped.

WAL with `synchronous=NORMAL`: a commit survives the process being killed at any
moment (the WAL is in the OS page cache); only an OS crash or power cut can lose the
last commits, which is the same promise the server makes for its own writes.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

from watchers.heartbeat import Event, PremergeStep

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    pulsetime REAL NOT NULL,
    event TEXT NOT NULL,
    queued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    bucket TEXT PRIMARY KEY,
    pulsetime REAL NOT NULL,
    event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    pulsetime REAL NOT NULL,
    event TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


class QueueLockedError(RuntimeError):
    """Another process already owns this queue file (a second copy of the same watcher)."""


@dataclass(frozen=True)
class QueueItem:
    """One heartbeat waiting to be sent."""

    id: int
    bucket: str
    pulsetime: float
    event: Event


@dataclass(frozen=True)
class DeadLetter:
    """A heartbeat the server refused, with what it said."""

    item_id: int
    bucket: str
    pulsetime: float
    event: Event
    status: int
    body: str


def _lock_file(path: str) -> IO[Any]:
    """Hold an exclusive lock for the life of the process; the OS drops it on any exit.

    Two processes sending from one queue would send items twice and out of order, so
    the second watcher must stop, as aw-client's SingleInstance makes it do.
    """
    handle = open(path, "a+b")  # noqa: SIM115 - held open until close()
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise QueueLockedError(f"{path} is locked: another instance is running") from exc
    return handle


class HeartbeatQueue:
    """Thread-safe persistent FIFO: the watcher thread writes, the sender thread drains.

    One connection guarded by a lock: writes are a few per second at most, so there is
    nothing to gain from a connection per thread, and one connection makes the
    "move pending to items" and "ack" steps trivially atomic.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self._lock_handle = _lock_file(self.path + ".lock")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} has queue format {version}, newer than this watcher")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._pending: dict[str, Event] = {}
        # A previous run that was killed left its pre-merge cache behind: that time was
        # observed, so it is sent like any other heartbeat.
        self.flush_pending()

    # -- writing -------------------------------------------------------------------

    def pending(self, bucket: str) -> Event | None:
        """The cached, not yet queued event of `bucket` (the pre-merge state)."""
        with self._lock:
            return self._pending.get(bucket)

    def apply(self, bucket: str, pulsetime: float, step: PremergeStep) -> None:
        """Record one pre-merge step atomically: queue what it sends, store its cache."""
        with self._lock, self._transaction():
            if step.send is not None:
                self._insert_item(bucket, pulsetime, step.send)
            self._db.execute(
                "INSERT INTO pending (bucket, pulsetime, event) VALUES (?, ?, ?) "
                "ON CONFLICT(bucket) DO UPDATE SET pulsetime=excluded.pulsetime, "
                "event=excluded.event",
                (bucket, pulsetime, step.pending.dumps()),
            )
            self._pending[bucket] = step.pending

    def push(self, bucket: str, pulsetime: float, event: Event) -> None:
        """Queue one heartbeat as is, bypassing the pre-merge cache."""
        with self._lock, self._transaction():
            self._insert_item(bucket, pulsetime, event)

    def flush_pending(self) -> int:
        """Move every cached event into the queue (at shutdown, and after a crash)."""
        with self._lock, self._transaction():
            rows = self._db.execute(
                "SELECT bucket, pulsetime, event FROM pending ORDER BY rowid"
            ).fetchall()
            for bucket, pulsetime, text in rows:
                self._insert_item(bucket, pulsetime, Event.loads(text))
            self._db.execute("DELETE FROM pending")
            self._pending.clear()
            return len(rows)

    # -- reading and acknowledging -------------------------------------------------

    def peek(self) -> QueueItem | None:
        """The oldest item, left in place until `ack` or `dead_letter` removes it."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, bucket, pulsetime, event FROM items ORDER BY id LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return QueueItem(id=row[0], bucket=row[1], pulsetime=row[2], event=Event.loads(row[3]))

    def ack(self, item_id: int) -> None:
        """The server stored the item: only now may it leave the queue."""
        with self._lock:
            self._db.execute("DELETE FROM items WHERE id = ?", (item_id,))

    def dead_letter(self, item: QueueItem, status: int, body: str) -> None:
        """Move a refused item to `dead_letter` in one transaction (never lost on the way)."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO dead_letter "
                "(item_id, bucket, pulsetime, event, status, body, failed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.id, item.bucket, item.pulsetime, item.event.dumps(), status, body,
                 time.time()),
            )
            self._db.execute("DELETE FROM items WHERE id = ?", (item.id,))

    def __len__(self) -> int:
        """Items waiting to be sent (the pre-merge cache is not counted)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def items(self) -> list[QueueItem]:
        """Every waiting item, oldest first (for tests and inspection)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, bucket, pulsetime, event FROM items ORDER BY id"
            ).fetchall()
        return [QueueItem(r[0], r[1], r[2], Event.loads(r[3])) for r in rows]

    def dead_letters(self) -> list[DeadLetter]:
        """Every refused item, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT item_id, bucket, pulsetime, event, status, body "
                "FROM dead_letter ORDER BY id"
            ).fetchall()
        return [DeadLetter(r[0], r[1], r[2], Event.loads(r[3]), r[4], r[5]) for r in rows]

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the file and release the single-instance lock."""
        with self._lock:
            self._db.close()
        self._lock_handle.close()

    def __enter__(self) -> HeartbeatQueue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------

    def _insert_item(self, bucket: str, pulsetime: float, event: Event) -> None:
        self._db.execute(
            "INSERT INTO items (bucket, pulsetime, event, queued_at) VALUES (?, ?, ?, ?)",
            (bucket, pulsetime, event.dumps(), time.time()),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
