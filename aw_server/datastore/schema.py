"""Tables, indexes and migrations, versioned with SQLite's `PRAGMA user_version`.

Layout decisions:
- Times are integer microseconds (`start`, `end`), so range reads are index range scans
  instead of ActivityWatch's `julianday()` arithmetic on text.
- Every row this device owns carries `(origin, origin_id, seq)`; `seq` comes from one
  per-database change sequence taken in the same transaction as the change, so sync can
  read deltas with an index scan (docs/sync.md §1).
- Ids use AUTOINCREMENT so a deleted newest event's id is never handed out again.
- Since version 6 an event's data is a `data_id` into `event_data`, which holds each
  distinct data text once (`interning.py`, docs/storage.md).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

from aw_server.datastore.migrate_interning import BATCH_ROWS, Progress, intern_event_data

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


def _add_import_jobs(conn: sqlite3.Connection) -> None:
    """Resumable file import: one row per file import, the resume point of its publish phase.

    The events read from the source wait in a staging file beside the database (see
    `datastore/imports/store.py`); this row says which staging file belongs to which
    source and how far its publishing got, and is updated in the same transaction as
    each published chunk.
    Local bookkeeping only: no seq, never synced.
    """
    conn.execute(
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
        )"""
    )


def _add_sync(conn: sqlite3.Connection) -> None:
    """Sync (docs/sync.md): peers, per-origin high-water marks, bucket epochs.

    - `sync_peer`: one row per paired device with its pairing key (state active, revoked
      or removed).
    - `sync_hwm`: for each foreign origin, the seq up to which this database holds that
      origin's log without a gap; moved in the same transaction as the batch it ends.
    - `origin.created`: when a log began (µs); a newer log of the same device supersedes an
      older one after a restore.
    - `bucket.epoch`: the seq at which an own bucket was last re-created after a delete; a
      mirror drops its events of earlier lives. The trigger keeps it for own buckets
      (`readonly = 0`), so the bucket code needs no change.
    """
    conn.execute(
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
        ) WITHOUT ROWID"""
    )
    conn.execute(
        "CREATE TABLE sync_hwm (origin INTEGER PRIMARY KEY, hwm INTEGER NOT NULL)"
    )
    conn.execute("ALTER TABLE origin ADD COLUMN created INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE bucket ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        """CREATE TRIGGER bucket_epoch AFTER UPDATE OF deleted ON bucket
        WHEN OLD.deleted = 1 AND NEW.deleted = 0 AND NEW.readonly = 0
        BEGIN UPDATE bucket SET epoch = NEW.seq WHERE key = NEW.key; END"""
    )


def _add_direct_import(conn: sqlite3.Connection) -> None:
    """Faster import: `import_job.direct`, the state of the buckets an import
    publishes straight from its source (see `direct.py`), as JSON; '{}' for none yet."""
    conn.execute("ALTER TABLE import_job ADD COLUMN direct TEXT NOT NULL DEFAULT '{}'")


def _add_signing(conn: sqlite3.Connection) -> None:
    """Signed change logs (docs/sync.md §11): every device signs what it
    originates, so a relay can pass data on but never alter or invent it.

    - `meta['sync.sign_seed']`: this database's Ed25519 private key (32 random bytes,
      hex), created with the database, like the device id.
    - `sync_peer.sign_key`: the peer's public key, exchanged inside the pairing (or, for
      pairings made before this version, taken from its first sealed message);
      `label` (user-editable, '' = default), `last_attempt`.
    - `origin.cert`: the origin device's signature over (log id, device id, created): a
      log exists for a receiver only with it. `bucket.origin_data`: a mirror bucket's data
      exactly as its origin wrote it (`data` gains the origin's id), to pass on signed.
    - `sync_device`: the public key of every device whose data is held, pinned on first
      sight; `sync_revocation`: signed revocations, relayed to every device.
    - `sync_segment`: the origin's signature and item digests of every batch applied,
      so that batch can be passed on (relayed) with the origin's own proof.
    - `sync_skipped`: items left out of sync, one error each (size, bad value).
    - Foreign logs were received unsigned: their marks start again at 0, so every log is
      fetched once more, signed, before it can be relayed (rows already held stay).
    """
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('sync.sign_seed', ?)",
                 (os.urandom(32).hex(),))
    conn.execute("ALTER TABLE sync_peer ADD COLUMN sign_key BLOB")
    conn.execute("ALTER TABLE sync_peer ADD COLUMN label TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE sync_peer ADD COLUMN last_attempt REAL")
    conn.execute("ALTER TABLE origin ADD COLUMN cert BLOB")
    conn.execute("ALTER TABLE bucket ADD COLUMN origin_data TEXT")
    conn.execute(
        """CREATE TABLE sync_device (
            device_id TEXT PRIMARY KEY,
            key BLOB NOT NULL,
            source TEXT NOT NULL,
            seen REAL NOT NULL
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE sync_revocation (
            device_id TEXT PRIMARY KEY,
            key BLOB NOT NULL,
            by_device TEXT NOT NULL,
            at INTEGER NOT NULL,
            sig BLOB NOT NULL,
            received REAL NOT NULL,
            lifted INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE sync_segment (
            origin INTEGER NOT NULL,
            up_to INTEGER NOT NULL,
            start INTEGER NOT NULL,
            sig BLOB NOT NULL,
            entries BLOB NOT NULL,
            PRIMARY KEY (origin, up_to)
        )"""
    )
    conn.execute(
        """CREATE TABLE sync_skipped (
            origin INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            origin_id INTEGER NOT NULL,
            bucket TEXT NOT NULL,
            size INTEGER NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (origin, seq)
        ) WITHOUT ROWID"""
    )
    conn.execute("UPDATE sync_hwm SET hwm = 0")


# Entry i brings the schema from version i to version i + 1, all of them in one
# transaction. Append, never edit or reorder.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _create_v1, _add_import_jobs, _add_sync, _add_direct_import, _add_signing,
]
# After those, steps too long for one transaction: each commits in batches and can be
# killed and run again (version 6: interned event data, `migrate_interning.py`).
BATCHED_MIGRATIONS: list[Callable[..., None]] = [intern_event_data]
SCHEMA_VERSION = len(MIGRATIONS) + len(BATCHED_MIGRATIONS)


class SchemaTooNew(Exception):
    """The file was written by a newer version; opening it could corrupt it."""


def migrate(conn: sqlite3.Connection, *, batch_rows: int = BATCH_ROWS,
            progress: Progress | None = None) -> int:
    """Bring the schema up to date; return the version found. The one-transaction steps
    run together, then each batched step (which sets the version it reaches itself)."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database has schema version {found}, newer than this program's "
            f"{SCHEMA_VERSION}; upgrade the program or use another --dbpath"
        )
    if found == SCHEMA_VERSION:
        return found
    if found < len(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for version in range(found, len(MIGRATIONS)):
                MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    for version in range(max(found, len(MIGRATIONS)), SCHEMA_VERSION):
        BATCHED_MIGRATIONS[version - len(MIGRATIONS)](
            conn, version + 1, batch_rows=batch_rows, progress=progress)
    return found
