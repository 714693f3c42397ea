"""Query results of closed periods, kept in a small SQLite file beside the database.

The in-memory result cache (`aw_server/query/cache.py`) dies with the server, so the
first dashboard load after a restart recomputed a year in seconds. This file keeps those
results across restarts, under the same rule: an entry is served only while every bucket
it read is unchanged.

The difficulty is that a bucket's change marker (`BucketRow.last_seq`) lives in memory:
at start every bucket gets the database's current seq, so a marker means nothing to the
next run. The file therefore keeps a *checkpoint*: the markers of every bucket at one
moment, together with a version of the database's contents read at that same moment
(under the writer's lock): the database's log id, the highest own seq, each synced
origin's high-water mark and the bucket table. At the next start the version is read
again before anything is written:

- same version: the database is exactly as at the checkpoint, so an entry whose markers
  equal the checkpoint's is still right; its markers are moved to this run's markers;
- different version (a write while the server was down, an import by command, a file
  restored from a backup or replaced by another database): every entry is dropped.

Writing never costs a query anything: `put` only queues, one thread serialises, writes,
evicts and checkpoints. Any error (an unreadable file, a full disk) is logged and the
file is given up for this run (deleted when possible); queries then answer from memory
or compute as before.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aw_server.models import BucketInfo

if TYPE_CHECKING:
    from aw_server.datastore.store import Datastore

logger = logging.getLogger(__name__)

FILE_SUFFIX = ".results"
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 1024
FORMAT_VERSION = 1
QUEUE_SIZE = 64
CLOSE_TIMEOUT_S = 10.0

StoredResult = tuple[dict[str, int], tuple[BucketInfo, ...] | None, Any]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entry (key TEXT PRIMARY KEY, markers TEXT NOT NULL,"
    " buckets TEXT, result BLOB NOT NULL, size INTEGER NOT NULL, used INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entry_used ON entry (used)",
)


class ResultFile:
    """The persistent layer under `QueryCache`: thread-safe, bounded, never raising.

    Bounded by `max_bytes` (compressed result bytes) and `max_entries`; past either the
    least recently used entries go first.
    """

    def __init__(self, store: Datastore, path: Path | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.store = store
        self.path = path or Path(store.db.path + FILE_SUFFIX)
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._main: sqlite3.Connection | None = None
        self._jobs: queue.Queue[tuple[str, Any]] = queue.Queue(QUEUE_SIZE)
        self._writer: threading.Thread | None = None
        self._open_or_discard()

    @property
    def usable(self) -> bool:
        return self._conn is not None

    # -- opening ---------------------------------------------------------------------
    def _open_or_discard(self) -> None:
        """Open and revalidate the file; an unreadable one is deleted and started anew."""
        for attempt in (1, 2):
            try:
                self._open()
                return
            except (sqlite3.Error, OSError, ValueError, KeyError, TypeError) as exc:
                self._close_connections()
                if attempt == 1:
                    logger.warning("query result cache %s is unreadable (%s); discarding "
                                   "it and starting an empty one", self.path, exc)
                    self._remove_file()
                else:
                    logger.warning("query result cache %s cannot be created (%s); results "
                                   "are kept in memory only", self.path, exc)

    def _open(self) -> None:
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn = conn
        # No fsync: it is a cache, and a file a power cut left damaged fails to read and
        # is discarded like any unreadable one; commits then hold the lock readers take
        # for about a millisecond.
        conn.execute("PRAGMA synchronous = OFF")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, FORMAT_VERSION):
            raise ValueError(f"format {version}, expected {FORMAT_VERSION}")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        # Read-only, its own: the checkpoint is read from the writer thread and at close.
        main_uri = Path(self.store.db.path).resolve().as_uri() + "?mode=ro"
        self._main = sqlite3.connect(main_uri, uri=True, check_same_thread=False,
                                     isolation_level=None)
        self._revalidate()

    def _revalidate(self) -> None:
        """Keep the entries that were valid at the last checkpoint if the database is as
        it was then, under this run's markers; drop everything otherwise."""
        conn = self._conn
        assert conn is not None
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        version, live = self._database_state()
        old_markers: dict[str, int] | None = None
        if meta.get("version") == version:
            old_markers = json.loads(meta["markers"])
        elif "version" in meta:
            logger.info("query result cache %s: the database changed since its last "
                        "checkpoint; its entries are dropped", self.path)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if old_markers is None:
                conn.execute("DELETE FROM entry")
            else:
                for key, text in conn.execute("SELECT key, markers FROM entry").fetchall():
                    markers: dict[str, int] = json.loads(text)
                    if all(old_markers.get(b) == m and b in live
                           for b, m in markers.items()):
                        moved = {b: live[b] for b in markers}
                        conn.execute("UPDATE entry SET markers = ? WHERE key = ?",
                                     (json.dumps(moved), key))
                    else:
                        conn.execute("DELETE FROM entry WHERE key = ?", (key,))
            self._write_meta(version, live)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _database_state(self) -> tuple[str, dict[str, int]]:
        """(the database's content version, every bucket's marker), read together under
        the writer's lock so no write falls between them."""
        main = self._main
        if main is None:
            raise sqlite3.ProgrammingError("the result cache was given up")
        db = self.store.db
        with db.lock:
            own = db.self_origin
            highest = [main.execute(f"SELECT max(seq) FROM {table} WHERE origin = ?",
                                    (own,)).fetchone()[0] or 0
                       for table in ("event", "bucket", "tombstone")]
            hwm = main.execute("SELECT origin, hwm FROM sync_hwm ORDER BY origin").fetchall()
            buckets = main.execute(
                "SELECT key, id, deleted, seq, max_duration FROM bucket ORDER BY key"
            ).fetchall()
            live = {bucket_id: row.last_seq for bucket_id, row in self.store.cache.rows.items()}
        version = json.dumps([db.log_id, highest, hwm, buckets])
        return version, live

    def _write_meta(self, version: str, live: dict[str, int]) -> None:
        assert self._conn is not None
        self._conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("version", version), ("markers", json.dumps(live))])

    # -- reading (request threads) ----------------------------------------------------
    def get(self, key: str) -> StoredResult | None:
        """The stored entry under `key`, not yet checked against the markers (the
        caller does that, as for memory entries); None if absent or unusable."""
        with self._lock:
            conn = self._conn
            if conn is None:
                return None
            try:
                row = conn.execute("SELECT markers, buckets, result FROM entry WHERE key = ?",
                                   (key,)).fetchone()
                if row is None:
                    return None
                markers = json.loads(row[0])
                bucket_list = (None if row[1] is None else
                               tuple(BucketInfo(*b) for b in json.loads(row[1])))
                result = json.loads(zlib.decompress(row[2]))
            except (sqlite3.Error, ValueError, TypeError, zlib.error) as exc:
                self._give_up_locked("read", exc)
                return None
        self._submit("touch", key)
        return markers, bucket_list, result

    # -- writing (queued; one thread) ---------------------------------------------------
    def put(self, key: str, markers: dict[str, int],
            bucket_list: tuple[BucketInfo, ...] | None, result: Any) -> None:
        """Queue `result` for writing; returns at once. `result` must not be changed
        afterwards (cached results are shared and read-only anyway)."""
        self._submit("put", (key, dict(markers), bucket_list, result))

    def discard(self, key: str) -> None:
        self._submit("discard", key)

    def flush(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait until everything queued so far is written (tests, shutdown)."""
        done = threading.Event()
        if not self._submit("flush", done, wait=True):
            return True
        return done.wait(timeout)

    def _submit(self, kind: str, payload: Any, *, wait: bool = False) -> bool:
        if self._conn is None:
            return False
        self._ensure_writer()
        try:
            self._jobs.put((kind, payload), block=wait, timeout=CLOSE_TIMEOUT_S if wait else None)
        except queue.Full:
            logger.debug("query result cache: writer busy, %s of an entry skipped", kind)
            return False
        return True

    def _ensure_writer(self) -> None:
        if self._writer is not None:
            return
        with self._start_lock:  # not `_lock`, which the writer holds while it writes
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop,
                                                name="aw-query-result-cache", daemon=True)
                self._writer.start()

    def _write_loop(self) -> None:
        while True:
            kind, payload = self._jobs.get()
            if kind == "stop":
                return
            if kind == "flush":
                payload.set()
                continue
            try:
                # Serialised outside the lock: a year's result takes tens of ms, and
                # request threads read entries under it.
                # The checkpoint is read first as well: it waits for the writer's lock,
                # which a long import holds, and readers must not wait behind that.
                blob = self._serialise(payload[3]) if kind == "put" else b""
                state = self._database_state() if kind == "put" else None
                with self._lock:
                    if self._conn is None:
                        continue
                    if kind == "put" and state is not None:
                        key, markers, bucket_list, _ = payload
                        self._store_locked(key, markers, bucket_list, blob, state)
                    elif kind == "touch":
                        self._conn.execute(
                            "UPDATE entry SET used = (SELECT coalesce(max(used), 0) + 1 "
                            "FROM entry) WHERE key = ?", (payload,))
                    elif kind == "discard":
                        self._conn.execute("DELETE FROM entry WHERE key = ?", (payload,))
            except Exception as exc:  # the writer must live on: a dead one fills the queue
                with self._lock:
                    self._give_up_locked("write", exc)

    @staticmethod
    def _serialise(result: Any) -> bytes:
        return zlib.compress(json.dumps(result, separators=(",", ":")).encode(), 1)

    def _store_locked(self, key: str, markers: dict[str, int],
                      bucket_list: tuple[BucketInfo, ...] | None, blob: bytes,
                      state: tuple[str, dict[str, int]]) -> None:
        """Write one entry, evict past the bounds and move the checkpoint to `state`
        (read just before: entries that match its markers were valid then)."""
        if len(blob) > self.max_bytes:
            return
        buckets = (None if bucket_list is None else
                   json.dumps([[b.id, b.type, b.client, b.hostname] for b in bucket_list]))
        conn = self._conn
        assert conn is not None
        version, live = state
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR REPLACE INTO entry (key, markers, buckets, result, size, used) "
                "VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(used), 0) + 1 FROM entry))",
                (key, json.dumps(markers), buckets, blob, len(blob)))
            self._evict_locked()
            self._write_meta(version, live)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _evict_locked(self) -> None:
        conn = self._conn
        assert conn is not None
        count, total = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM entry"
                                    ).fetchone()
        if count <= self.max_entries and total <= self.max_bytes:
            return
        for key, size in conn.execute("SELECT key, size FROM entry ORDER BY used").fetchall():
            if count <= self.max_entries and total <= self.max_bytes:
                break
            conn.execute("DELETE FROM entry WHERE key = ?", (key,))
            count -= 1
            total -= size

    # -- closing and giving up ----------------------------------------------------------
    def close(self) -> None:
        """Write what is queued, take a last checkpoint, close. Call before the
        datastore is closed."""
        writer = self._writer
        if writer is not None and self._conn is not None:
            try:
                self._jobs.put(("stop", None), timeout=CLOSE_TIMEOUT_S)
            except queue.Full:
                logger.warning("query result cache: writer did not drain; closing anyway")
            writer.join(CLOSE_TIMEOUT_S)
        with self._lock:
            if self._conn is not None:
                try:
                    version, live = self._database_state()
                    self._write_meta(version, live)
                except sqlite3.Error as exc:
                    self._give_up_locked("checkpoint", exc)
            self._close_connections()

    def _give_up_locked(self, what: str, exc: BaseException) -> None:
        if self._conn is None and self._main is None:
            return  # given up already
        logger.warning("query result cache %s: %s failed (%s); the file is dropped and "
                       "results are kept in memory only until restart", self.path, what, exc)
        self._close_connections()
        self._remove_file()

    def _close_connections(self) -> None:
        for conn in (self._conn, self._main):
            if conn is not None:
                try:
                    conn.close()
                except sqlite3.Error as exc:
                    logger.debug("closing a result cache connection failed: %s", exc)
        self._conn = None
        self._main = None

    def _remove_file(self) -> None:
        for name in (self.path, Path(str(self.path) + "-journal")):
            try:
                name.unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("cannot remove %s: %s", name, exc)
