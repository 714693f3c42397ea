"""Tables, indexes and migrations, versioned with SQLite's `PRAGMA user_version`.

Layout decisions (see ../../docs/storage.md):
- Times are integer microseconds (`start`, `end`), so range reads are index range scans
  instead of ActivityWatch's `julianday()` arithmetic on text.
- Every row this device owns carries `(origin, origin_id, seq)`; `seq` comes from one
  per-database change sequence taken in the same transaction as the change, so sync can
  read deltas with an index scan (design/sync.md §1).
- Ids use AUTOINCREMENT so a deleted newest event's id is never handed out again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

_V1 = [
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE origin (
        id INTEGER PRIMARY KEY,
        log_id TEXT NOT NULL UNIQUE,
        device_id TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        hostname TEXT NOT NULL DEFAULT '',
        is_self INTEGER NOT NULL DEFAULT 0,
        blocked INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE bucket (
        key INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT,
        type TEXT NOT NULL,
        client TEXT NOT NULL,
        hostname TEXT NOT NULL,
        created TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        origin INTEGER NOT NULL REFERENCES origin(id),
        origin_bucket_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        readonly INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        max_duration INTEGER NOT NULL DEFAULT 0,
        UNIQUE (origin, origin_bucket_id)
    )""",
    "CREATE INDEX bucket_changes ON bucket (origin, seq)",
    """CREATE TABLE event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bucket INTEGER NOT NULL REFERENCES bucket(key),
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        data TEXT NOT NULL,
        origin INTEGER NOT NULL,
        origin_id INTEGER NOT NULL,
        seq INTEGER NOT NULL
    )""",
    "CREATE INDEX event_range ON event (bucket, start, end)",
    "CREATE UNIQUE INDEX event_identity ON event (origin, origin_id)",
    "CREATE INDEX event_changes ON event (origin, seq)",
    """CREATE TABLE tombstone (
        origin INTEGER NOT NULL,
        origin_id INTEGER NOT NULL,
        origin_bucket_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (origin, origin_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX tombstone_changes ON tombstone (origin, seq)",
    """CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID""",
]



def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _V1:
        conn.execute(statement)


# Entry i brings the schema from version i to version i + 1. Append, never edit or reorder.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_create_v1]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The file was written by a newer version; opening it could corrupt it."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date in one transaction; return the version found."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database has schema version {found}, newer than this program's "
            f"{SCHEMA_VERSION}; upgrade the program or use another --dbpath"
        )
    if found == SCHEMA_VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version in range(found, SCHEMA_VERSION):
            MIGRATIONS[version](conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
