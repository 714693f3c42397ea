"""Schema version 6: events refer to their data by id (`interning.py`), in batches.

A million events take a few seconds to copy, too long for the one transaction the
other steps share: a kill would throw all of it away, and the next start would begin
again. Here the events are copied into a new table (`event_v6`) in batches of
`batch_rows` ids, each batch committed with the id it reached (`meta`, key
`migration.v6.copied`); a run after a kill goes on from there. The old table stays
whole until the last transaction, which drops it, renames the new one and builds its
indexes, so every state a kill can leave is either "not yet" (old table read as before
by the next run) or "done". A VACUUM then gives the old table's pages back to the disk
(if it is killed, the file is only larger).

Each row is copied as it is, its data text replaced by the id of the exact same text,
so every event reads back byte-identical (API, export, sync digests).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from aw_server.datastore.interning import text_hash

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (events copied, events to copy), after each batch

BATCH_ROWS = 50_000
PROGRESS_KEY = "migration.v6.copied"

EVENT_DATA = [
    """CREATE TABLE IF NOT EXISTS event_data (
        id INTEGER PRIMARY KEY,
        hash INTEGER NOT NULL,
        text TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS event_data_hash ON event_data (hash)",
]
EVENT_TABLE = """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket INTEGER NOT NULL REFERENCES bucket(key),
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    data_id INTEGER NOT NULL,
    origin INTEGER NOT NULL,
    origin_id INTEGER,
    seq INTEGER NOT NULL
)"""
# The range index holds no `end` (the rows have it), and the identity index only the
# events whose identity is not their own id: see docs/storage.md for what each costs.
EVENT_INDEXES = [
    "CREATE INDEX event_range ON event (bucket, start)",
    "CREATE UNIQUE INDEX event_identity ON event (origin, origin_id) "
    "WHERE origin_id IS NOT NULL",
    "CREATE INDEX event_changes ON event (origin, seq)",
]
_NEW = "event_v6"


def _exists(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is not None


def _begin(conn: sqlite3.Connection) -> int:
    """Create the new tables unless a killed run did; answer the id copied up to."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _exists(conn, _NEW):
            for statement in EVENT_DATA:
                conn.execute(statement)
            conn.execute(EVENT_TABLE.format(name=_NEW))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '0')",
                         (PROGRESS_KEY,))
        (copied,) = conn.execute("SELECT value FROM meta WHERE key = ?",
                                 (PROGRESS_KEY,)).fetchone()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(copied)


def _copy_batch(conn: sqlite3.Connection, after: int, batch_rows: int,
                known: dict[str, int], own: int | None) -> tuple[int, int]:
    """Copy the next batch above id `after`; answer (the last id copied, `after` if
    none; how many rows).
    Runs inside the caller's transaction; `known` (text -> id) grows with it. An event
    of this device's own log (`own`) whose origin id is its id gets NULL there."""
    rows = conn.execute(
        "SELECT id, bucket, start, end, data, origin, origin_id, seq FROM event "
        "WHERE id > ? ORDER BY id LIMIT ?", (after, batch_rows)).fetchall()
    if not rows:
        return after, 0
    params = []
    for event_id, bucket, start, end, text, origin, origin_id, seq in rows:
        data_id = known.get(text)
        if data_id is None:
            cur = conn.execute("INSERT INTO event_data (hash, text) VALUES (?, ?)",
                               (text_hash(text), text))
            data_id = known[text] = int(cur.lastrowid or 0)
        if origin == own and origin_id == event_id:
            origin_id = None
        params.append((event_id, bucket, start, end, data_id, origin, origin_id, seq))
    conn.executemany(f"INSERT INTO {_NEW} (id, bucket, start, end, data_id, origin, "
                     "origin_id, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", params)
    last = int(rows[-1][0])
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(last), PROGRESS_KEY))
    return last, len(rows)


def _swap(conn: sqlite3.Connection, version: int) -> None:
    """The last transaction: the new table takes the old one's name, ids, indexes."""
    found = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event'").fetchone()
    conn.execute("DROP TABLE event")
    conn.execute(f"ALTER TABLE {_NEW} RENAME TO event")
    for statement in EVENT_INDEXES:
        conn.execute(statement)
    # AUTOINCREMENT's high mark of the old table: an id deleted there stays unused.
    if found is not None:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = 'event'")
        conn.execute("INSERT INTO sqlite_sequence (name, seq) SELECT 'event', max(?, "
                     "coalesce((SELECT max(id) FROM event), 0))", (int(found[0]),))
    conn.execute("DELETE FROM meta WHERE key = ?", (PROGRESS_KEY,))
    conn.execute(f"PRAGMA user_version = {version}")


def intern_event_data(conn: sqlite3.Connection, version: int, *,
                      batch_rows: int = BATCH_ROWS, progress: Progress | None = None) -> None:
    """Run (or go on with) the migration to `version`; see the module docstring."""
    began = time.monotonic()
    after = _begin(conn)
    (left,) = conn.execute("SELECT count(*) FROM event WHERE id > ?", (after,)).fetchone()
    (done,) = conn.execute(f"SELECT count(*) FROM {_NEW}").fetchone()
    total = int(left) + int(done)
    if total:
        logger.info("storing event data once per distinct text: %d of %d events to copy%s",
                    left, total, " (going on after an interruption)" if done else "")
    known = {str(text): int(data_id)
             for data_id, text in conn.execute("SELECT id, text FROM event_data")}
    found = conn.execute("SELECT id FROM origin WHERE is_self = 1").fetchone()
    own = None if found is None else int(found[0])
    logged = time.monotonic()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            reached, copied = _copy_batch(conn, after, batch_rows, known, own)
            if reached == after:
                _swap(conn, version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if reached == after:
            break
        done += copied
        after = reached
        if progress is not None:
            progress(done, total)
        if time.monotonic() - logged > 2:
            logger.info("event data: %d of %d events copied", done, total)
            logged = time.monotonic()
    if total:
        logger.info("event data migrated in %.1f s; giving the old pages back (VACUUM)",
                    time.monotonic() - began)
        try:
            conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # e.g. a full disk: the data is migrated
            logger.warning("VACUUM after the migration failed (%s); the file keeps the old "
                           "table's pages as free space, which new events reuse", exc)
        logger.info("database migrated to version %d in %.1f s", version,
                    time.monotonic() - began)
