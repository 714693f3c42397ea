"""What sync trusts and remembers, stored (docs/sync.md §3, §9, §11): paired peers, the
public keys of every device whose data is held, signed revocations, items left out of
sync, and this device's own signing key.

The sync layer decides (it holds the cryptography), this only
reads and writes rows.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aw_server.datastore.rows import dump_json
from aw_server.datastore.sync_items import (
    ENTRY_BYTES,
    REVOKED_KEY,
    SegmentHeader,
    Skipped,
    entries_hash,
)

if TYPE_CHECKING:
    from aw_server.datastore.cache import BucketCache
    from aw_server.datastore.database import Database

SIGN_SEED_KEY = "sync.sign_seed"


@dataclass(frozen=True, slots=True)
class PeerRow:
    device_id: str
    name: str
    key: bytes
    state: str
    created: float
    changed: float
    address: str
    sas: str
    last_sync: float | None
    last_error: str | None
    last_bytes: int
    skew: float | None
    sign_key: bytes | None
    label: str
    last_attempt: float | None


_PEER_COLUMNS = ("device_id, name, key, state, created, changed, address, sas, last_sync, "
                 "last_error, last_bytes, skew, sign_key, label, last_attempt")


@dataclass(frozen=True, slots=True)
class Revocation:
    """`by_device` says `device_id`'s key `key` is no longer to be trusted (signed `sig`)."""

    device_id: str
    key: bytes
    by_device: str
    at: int  # µs, the revoking device's clock
    sig: bytes


class TrustStore:
    """Rows of trust: peers, device keys, revocations, skipped items, the signing seed.

    Contract: stores and answers; deciding whom to trust is the sync layer's (it holds
    the cryptography). Writes go through `cache.write()` so they join the one writer.
    """

    def __init__(self, db: Database, cache: BucketCache) -> None:
        self.db = db
        self.cache = cache

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.cache.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def sign_seed(self) -> bytes:
        """This database's Ed25519 private key (created with it, see schema.py)."""
        value = self.get_meta(SIGN_SEED_KEY)
        if value is None:  # a database opened read-only before its migration: never here
            raise RuntimeError("the database has no signing key")
        return bytes.fromhex(value)

    # -- peers -------------------------------------------------------------------------
    def peers(self) -> list[PeerRow]:
        rows = self.db.conn().execute(
            f"SELECT {_PEER_COLUMNS} FROM sync_peer ORDER BY created")
        return [PeerRow(*r) for r in rows]

    def peer(self, device_id: str) -> PeerRow | None:
        row = self.db.conn().execute(
            f"SELECT {_PEER_COLUMNS} FROM sync_peer WHERE device_id = ?", (device_id,)).fetchone()
        return None if row is None else PeerRow(*row)

    def save_peer(self, device_id: str, name: str, key: bytes, address: str, sas: str,
                  sign_key: bytes) -> None:
        """A pairing (new, or again): the user's own act, so it also replaces whatever key
        the device had been known by and lifts a revocation of it here."""
        now = time.time()
        with self.cache.write() as conn:
            conn.execute(
                "INSERT INTO sync_peer (device_id, name, key, state, created, changed, address, "
                "sas, sign_key) VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?) "
                "ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, "
                "key = excluded.key, state = 'active', created = excluded.created, "
                "changed = excluded.changed, address = excluded.address, sas = excluded.sas, "
                "sign_key = excluded.sign_key, last_error = NULL",
                (device_id, name, key, now, now, address, sas, sign_key),
            )
            conn.execute("INSERT OR REPLACE INTO sync_device (device_id, key, source, seen) "
                         "VALUES (?, ?, 'paired', ?)", (device_id, sign_key, now))
            conn.execute("UPDATE sync_revocation SET lifted = 1 WHERE device_id = ?",
                         (device_id,))

    def set_peer_state(self, device_id: str, state: str) -> None:
        with self.cache.write() as conn:
            conn.execute("UPDATE sync_peer SET state = ?, changed = ? WHERE device_id = ?",
                         (state, time.time(), device_id))

    def set_peer_label(self, device_id: str, label: str) -> None:
        with self.cache.write() as conn:
            conn.execute("UPDATE sync_peer SET label = ? WHERE device_id = ?", (label, device_id))

    def record_peer_sync(self, device_id: str, *, error: str | None, nbytes: int,
                         skew: float | None, completed: bool = False) -> None:
        """Every attempt leaves its time, bytes and error (None clears it); a session
        that ran to its end (perhaps refusing some data: `error`) is the last sync."""
        now = time.time()
        with self.cache.write() as conn:
            conn.execute(
                "UPDATE sync_peer SET last_attempt = ?, last_bytes = ?, last_error = ?, "
                "skew = coalesce(?, skew), last_sync = CASE WHEN ? THEN ? "
                "ELSE last_sync END WHERE device_id = ?",
                (now, nbytes, error, skew, completed, now, device_id))

    def forget_revoked_peers(self, older_than: float) -> None:
        with self.cache.write() as conn:
            conn.execute("DELETE FROM sync_peer WHERE state = 'revoked' AND changed < ?",
                         (older_than,))

    # -- device keys -------------------------------------------------------------------
    def device_key(self, device_id: str) -> bytes | None:
        row = self.db.conn().execute("SELECT key FROM sync_device WHERE device_id = ?",
                                     (device_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def pin_device_key(self, device_id: str, key: bytes, source: str) -> bytes:
        """The key a device is known by from now on: the first one seen (trust on first
        use, over an authenticated channel); answers the pinned key."""
        with self.cache.write() as conn:
            conn.execute("INSERT OR IGNORE INTO sync_device (device_id, key, source, seen) "
                         "VALUES (?, ?, ?, ?)", (device_id, key, source, time.time()))
            if source == "paired-session":
                conn.execute("UPDATE sync_peer SET sign_key = ? WHERE device_id = ? "
                             "AND sign_key IS NULL", (key, device_id))
            return bytes(conn.execute("SELECT key FROM sync_device WHERE device_id = ?",
                                      (device_id,)).fetchone()[0])

    def devices(self) -> list[dict[str, Any]]:
        """Every device known by key, with its revocation if any (for the API)."""
        rows = self.db.conn().execute(
            "SELECT d.device_id, d.source, d.seen, r.by_device, r.at, r.lifted, "
            "(SELECT hostname FROM origin o WHERE o.device_id = d.device_id ORDER BY id DESC "
            "LIMIT 1) FROM sync_device d LEFT JOIN sync_revocation r "
            "ON r.device_id = d.device_id ORDER BY d.seen")
        return [{"device_id": d, "source": src, "first_seen": seen, "hostname": host or "",
                 "revoked": None if by is None or lifted else {"by": by, "at": at / 1e6}}
                for d, src, seen, by, at, lifted, host in rows]

    # -- revocations -------------------------------------------------------------------
    def revocations(self) -> list[Revocation]:
        rows = self.db.conn().execute(
            "SELECT device_id, key, by_device, at, sig FROM sync_revocation WHERE lifted = 0 "
            "ORDER BY device_id")
        return [Revocation(d, bytes(k), by, int(at), bytes(s)) for d, k, by, at, s in rows]

    def revoked_devices(self) -> set[str]:
        return {r[0] for r in self.db.conn().execute(
            "SELECT device_id FROM sync_revocation WHERE lifted = 0")}

    def add_revocation(self, revocation: Revocation) -> bool:
        """Store a revocation the sync layer verified; the revoked device stops syncing
        with us (if paired) and what we hold of it is marked. False if already known."""
        with self.cache.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO sync_revocation (device_id, key, by_device, at, sig, "
                "received) VALUES (?, ?, ?, ?, ?, ?)",
                (revocation.device_id, revocation.key, revocation.by_device, revocation.at,
                 revocation.sig, time.time()))
            if not cur.rowcount:
                return False
            conn.execute("UPDATE sync_peer SET state = 'revoked', changed = ? "
                         "WHERE device_id = ? AND state != 'revoked'",
                         (time.time(), revocation.device_id))
            self._mark_revoked(conn, revocation)
        return True

    def _mark_revoked(self, conn: sqlite3.Connection, revocation: Revocation) -> None:
        """Mirrors of a revoked device stay, marked in their data (`$aw.sync.revoked`: who
        revoked it, when), so every client can tell them apart."""
        mark = {"by": revocation.by_device, "at": revocation.at / 1e6}
        for key, data in conn.execute(
            "SELECT b.key, b.data FROM bucket b JOIN origin o ON o.id = b.origin "
            "WHERE o.device_id = ? AND o.is_self = 0", (revocation.device_id,)).fetchall():
            conn.execute("UPDATE bucket SET data = ? WHERE key = ?",
                         (dump_json({**json.loads(data), REVOKED_KEY: mark}), key))

    # -- skipped items -----------------------------------------------------------------
    def record_skipped(self, conn: sqlite3.Connection, origin: int,
                       items: list[Skipped]) -> None:
        if items:
            now = time.time()
            conn.executemany(
                "INSERT OR REPLACE INTO sync_skipped (origin, seq, origin_id, bucket, size, "
                "reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(origin, s.seq, s.origin_id, s.bucket, s.size, s.reason, now) for s in items])

    def record_own_skipped(self, items: list[Skipped]) -> None:
        with self.cache.write() as conn:
            self.record_skipped(conn, self.db.self_origin, items)

    def skipped_items(self, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.db.conn().execute(
            "SELECT o.device_id, o.is_self, s.bucket, s.origin_id, s.seq, s.size, s.reason, "
            "s.at FROM sync_skipped s JOIN origin o ON o.id = s.origin "
            "ORDER BY s.at DESC LIMIT ?", (limit,))
        return [{"device_id": d, "own": bool(own), "bucket": b, "origin_id": oid, "seq": seq,
                 "size": size, "reason": reason, "at": at}
                for d, own, b, oid, seq, size, reason, at in rows]

    # -- proof of what a device handed out (log regression) -----------------------------
    def segment_tip(self, device_id: str) -> SegmentHeader | None:
        """The highest batch we hold of `device_id`'s newest log, with its signature: what
        that device must have signed (so its database cannot be behind it)."""
        conn = self.db.conn()
        newest = conn.execute(
            "SELECT id, log_id FROM origin WHERE device_id = ? AND blocked = 0 AND is_self = 0 "
            "ORDER BY created DESC LIMIT 1", (device_id,)).fetchone()
        row = None if newest is None else conn.execute(
            "SELECT start, up_to, sig, entries FROM sync_segment WHERE origin = ? "
            "ORDER BY up_to DESC LIMIT 1", (newest[0],)).fetchone()
        if row is None:
            return None
        log_id = newest[1]
        start, up_to, sig, blob = row
        return SegmentHeader(log_id, int(start), int(up_to), len(blob) // ENTRY_BYTES,
                             entries_hash(bytes(blob)), bytes(sig))
