"""The SQLite database under the store: connections, the one writer, the change sequence.

peewee supplies per-thread connections, pragmas and closing; we speak SQL through them
directly. peewee's Model classes bind to one database per class (a process-wide global),
which would stop two servers from living in one process (sync tests, the tray), so the
schema is plain DDL in `schema.py` instead.

Exactly one writer: every write runs under `self._lock` inside `BEGIN IMMEDIATE`, and
takes its change-sequence numbers there, so seqs are gap-free per commit and never reused
(a rolled-back transaction gives its numbers back).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import peewee

from aw_server.datastore.interning import DataInterner
from aw_server.datastore.migrate_interning import Progress
from aw_server.datastore.schema import SchemaTooNew, migrate
from aw_server.errors import StorageFull, StorageUnavailable

logger = logging.getLogger(__name__)


class DatabaseCorrupt(Exception):
    """The file exists but is not a readable SQLite database; we never overwrite it."""


# Files beside the database that hold what it holds (SQLite's own, and sync's record).
COMPANION_SUFFIXES = ("-wal", "-shm", ".sync-log")


def keep_private(path: Path, mode: int) -> None:
    """Tighten `path` to `mode` if other users may read it, saying so in the log."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        logger.warning("%s was readable by other users (mode %o); set to %o: it holds your "
                       "activity and the device's sync keys", path, current, mode)
        path.chmod(mode)


def secure_database_files(path: Path, *, private_dir: bool) -> None:
    """The database and its companions are the user's alone (0600), created that way, and
    so is their folder (0700) when it is ours: the data folder, or one we create here.
    SQLite gives a new WAL and shared-memory file the database file's mode."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        private_dir = True
    if private_dir:
        keep_private(folder, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, *(Path(str(path) + s) for s in COMPANION_SUFFIXES)):
        keep_private(name, 0o600)


class Database:
    def __init__(self, path: Path | str, *, durability: str = "normal",
                 private_dir: bool = False, upgrade_progress: Progress | None = None) -> None:
        """`upgrade_progress`: told how far a batched schema upgrade got (upgrade.py)."""
        self.path = str(path)
        self._upgrade_progress = upgrade_progress
        if self.path != ":memory:":
            secure_database_files(Path(self.path), private_dir=private_dir)
        pragmas = {
            "journal_mode": "wal",
            # In WAL mode NORMAL keeps every commit through a crash of this process (the
            # WAL is written before COMMIT returns); FULL also survives power loss.
            "synchronous": "full" if durability == "full" else "normal",
            "foreign_keys": 0,
            "temp_store": "memory",
            "busy_timeout": 10_000,
        }
        self._db = peewee.SqliteDatabase(self.path, pragmas=pragmas, check_same_thread=False)
        self._lock = threading.RLock()
        self._seq = 0
        self._depth = 0
        self.self_origin = 0
        self.device_id = ""
        self.log_id = ""
        # Data ids of texts written lately; shared by every store, as the table is.
        self.data = DataInterner()
        self._open()

    # -- opening ---------------------------------------------------------------------
    def _open(self) -> None:
        try:
            conn = self.conn()
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            migrate(conn, progress=self._upgrade_progress)
        except SchemaTooNew:
            raise
        except (sqlite3.DatabaseError, peewee.DatabaseError) as exc:
            self._db.close()
            raise DatabaseCorrupt(
                f"{self.path} is not a readable database ({exc}). It was left untouched: "
                "move it aside (keep it for recovery) or start with another --dbpath."
            ) from exc
        with self.write() as conn:
            row = conn.execute(
                "SELECT id, log_id, device_id FROM origin WHERE is_self = 1"
            ).fetchone()
            if row is None:
                self.device_id = str(uuid.uuid4())
                self.log_id = uuid.uuid4().hex
                cur = conn.execute(
                    "INSERT INTO origin (log_id, device_id, is_self) VALUES (?, ?, 1)",
                    (self.log_id, self.device_id),
                )
                self.self_origin = int(cur.lastrowid or 0)
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('device_id', ?)",
                    (self.device_id,),
                )
            else:
                self.self_origin, self.log_id, self.device_id = int(row[0]), row[1], row[2]
            self._seq = self._highest_seq(conn)

    def _highest_seq(self, conn: sqlite3.Connection) -> int:
        """Derived from the rows themselves, so there is no counter row to keep in step."""
        highest = 0
        for table in ("bucket", "event", "tombstone"):
            value = conn.execute(
                f"SELECT max(seq) FROM {table} WHERE origin = ?", (self.self_origin,)
            ).fetchone()[0]
            highest = max(highest, value or 0)
        value = conn.execute("SELECT max(seq) FROM setting").fetchone()[0]
        return max(highest, value or 0)

    # -- connections -----------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: transactions are explicit)."""
        return self._db.connection()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the only way anything is written."""
        with self._lock:
            conn = self.conn()
            if self._depth:
                # Nested call from inside a write of this thread: part of that transaction.
                yield conn
                return
            seq_before = self._seq
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _storage_error(exc) from exc
            self._depth += 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                self._seq = seq_before
                self.data.forget()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise _storage_error(exc) from exc
                raise
            finally:
                self._depth -= 1

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def next_seq(self) -> int:
        """Only valid inside `write()`."""
        self._seq += 1
        return self._seq

    def take_seqs(self, n: int) -> int:
        """`n` consecutive seqs, the first returned; only valid inside `write()`."""
        first = self._seq + 1
        self._seq += n
        return first

    @property
    def current_seq(self) -> int:
        return self._seq

    def close(self) -> None:
        with self._lock:
            try:
                self.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                logger.warning("checkpoint at close failed: %s", exc)
            self._db.close()


def _storage_error(exc: sqlite3.OperationalError) -> Exception:
    text = str(exc).lower()
    if "full" in text:
        return StorageFull(
            "the disk holding the database is full; free some space, tracking resumes by itself"
        )
    if "locked" in text or "busy" in text:
        return StorageUnavailable("the database is busy; try again in a moment")
    if "readonly" in text or "read-only" in text:
        return StorageUnavailable("the database file is read-only; check its permissions")
    return exc
