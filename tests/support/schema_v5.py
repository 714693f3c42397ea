"""A database in schema version 5, as the version before interned event data wrote it.

The DDL below is what that version's `schema.py` left in `sqlite_master` of a new file
(frozen here: the migrations in the code may change how they get there, the files
already on disk do not). `write_database` fills one with own buckets, events whose
data are stored as whole texts, a deleted event (tombstone) and an id high mark above
the newest event, so a migration test starts from what a user's file holds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

V5_DDL = [
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
    , created INTEGER NOT NULL DEFAULT 0, cert BLOB)""",
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
        max_duration INTEGER NOT NULL DEFAULT 0, epoch INTEGER NOT NULL DEFAULT 0, origin_data TEXT,
        UNIQUE (origin, origin_bucket_id)
    )""",
    """CREATE INDEX bucket_changes ON bucket (origin, seq)""",
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
    """CREATE INDEX event_range ON event (bucket, start, end)""",
    """CREATE UNIQUE INDEX event_identity ON event (origin, origin_id)""",
    """CREATE INDEX event_changes ON event (origin, seq)""",
    """CREATE TABLE tombstone (
        origin INTEGER NOT NULL,
        origin_id INTEGER NOT NULL,
        origin_bucket_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (origin, origin_id)
    ) WITHOUT ROWID""",
    """CREATE INDEX tombstone_changes ON tombstone (origin, seq)""",
    """CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE import_job (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            staging TEXT NOT NULL,
            phase TEXT NOT NULL,
            bucket_pos INTEGER NOT NULL DEFAULT 0,
            start_pos INTEGER,
            results TEXT NOT NULL DEFAULT '{}',
            started TEXT NOT NULL,
            updated TEXT NOT NULL
        , direct TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE sync_peer (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            key BLOB NOT NULL,
            state TEXT NOT NULL,
            created REAL NOT NULL,
            changed REAL NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            sas TEXT NOT NULL DEFAULT '',
            last_sync REAL,
            last_error TEXT,
            last_bytes INTEGER NOT NULL DEFAULT 0,
            skew REAL
        , sign_key BLOB, label TEXT NOT NULL DEFAULT '', last_attempt REAL) WITHOUT ROWID""",
    """CREATE TABLE sync_hwm (origin INTEGER PRIMARY KEY, hwm INTEGER NOT NULL)""",
    """CREATE TRIGGER bucket_epoch AFTER UPDATE OF deleted ON bucket
        WHEN OLD.deleted = 1 AND NEW.deleted = 0 AND NEW.readonly = 0
        BEGIN UPDATE bucket SET epoch = NEW.seq WHERE key = NEW.key; END""",
    """CREATE TABLE sync_device (
            device_id TEXT PRIMARY KEY,
            key BLOB NOT NULL,
            source TEXT NOT NULL,
            seen REAL NOT NULL
        ) WITHOUT ROWID""",
    """CREATE TABLE sync_revocation (
            device_id TEXT PRIMARY KEY,
            key BLOB NOT NULL,
            by_device TEXT NOT NULL,
            at INTEGER NOT NULL,
            sig BLOB NOT NULL,
            received REAL NOT NULL,
            lifted INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID""",
    """CREATE TABLE sync_segment (
            origin INTEGER NOT NULL,
            up_to INTEGER NOT NULL,
            start INTEGER NOT NULL,
            sig BLOB NOT NULL,
            entries BLOB NOT NULL,
            PRIMARY KEY (origin, up_to)
        )""",
    """CREATE TABLE sync_skipped (
            origin INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            origin_id INTEGER NOT NULL,
            bucket TEXT NOT NULL,
            size INTEGER NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (origin, seq)
        ) WITHOUT ROWID""",
]

Row = tuple[int, int, Any]  # start µs, end µs, data: a dict (stored compact) or the text


def _text(data: Any) -> str:
    if isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def write_database(path: Path, buckets: Mapping[str, Iterable[Row]], *,
                   deleted_newest: bool = True) -> int:
    """A v5 file at `path` with `buckets` (id -> rows, oldest first); answers the number
    of events written. With `deleted_newest`, the newest id was deleted (a tombstone, and
    `sqlite_sequence` one above the highest id left), as after a user's delete."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = wal")
        conn.execute("BEGIN")
        for statement in V5_DDL:
            conn.execute(statement)
        device = str(uuid.uuid4())
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                         [("device_id", device), ("sync.sign_seed", os.urandom(32).hex())])
        conn.execute("INSERT INTO origin (id, log_id, device_id, is_self, created) "
                     "VALUES (1, ?, ?, 1, 0)", (uuid.uuid4().hex, device))
        seq = 0
        event_id = 0
        for key, (bucket_id, rows) in enumerate(buckets.items(), start=1):
            seq += 1
            conn.execute(
                "INSERT INTO bucket (key, id, name, type, client, hostname, created, origin, "
                "origin_bucket_id, seq, max_duration) VALUES (?, ?, NULL, 'currentwindow', "
                "'aw-watcher-window', 'host', '2024-01-01T00:00:00+00:00', 1, ?, ?, 0)",
                (key, bucket_id, bucket_id, seq))
            first_id, first_seq = event_id + 1, seq + 1
            longest = [0]

            def params(bucket_key: int = key, first_id: int = first_id,
                       first_seq: int = first_seq, rows: Iterable[Row] = rows,
                       longest: list[int] = longest) -> Iterable[tuple[Any, ...]]:
                for i, (start, end, data) in enumerate(rows):
                    longest[0] = max(longest[0], end - start)
                    yield (first_id + i, bucket_key, start, end, _text(data), first_id + i,
                           first_seq + i)

            cur = conn.executemany(
                "INSERT INTO event (id, bucket, start, end, data, origin, origin_id, seq) "
                "VALUES (?, ?, ?, ?, ?, 1, ?, ?)", params())
            count = max(cur.rowcount, 0)
            event_id += count
            seq += count
            conn.execute("UPDATE bucket SET max_duration = ? WHERE key = ?", (longest[0], key))
        if deleted_newest and event_id:
            seq += 1
            bucket_id = conn.execute("SELECT b.id FROM event e JOIN bucket b ON b.key = "
                                     "e.bucket WHERE e.id = ?", (event_id,)).fetchone()[0]
            conn.execute("DELETE FROM event WHERE id = ?", (event_id,))
            conn.execute("INSERT INTO tombstone (origin, origin_id, origin_bucket_id, seq) "
                         "VALUES (1, ?, ?, ?)", (event_id, bucket_id, seq))
            event_id -= 1
            count_left = event_id
        else:
            count_left = event_id
        conn.execute("PRAGMA user_version = 5")
        conn.execute("COMMIT")
    finally:
        conn.close()
    return count_left
