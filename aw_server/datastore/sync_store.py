"""Applying sync batches to mirrors (docs/sync.md §6, §11), and log identity.

The sync layer hands in batches it has already checked against
their origin's signature (`PreparedBatch`, texts and digests computed once); this
module writes them in one transaction together with the new high-water marks: "for one
identity the higher origin seq wins; a tombstone is a version". Own rows and blocked
logs are never touched. An item this store cannot hold is skipped with a recorded error
(`sync_skipped`), never failing the rest of its batch.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aw_server.datastore.rows import BucketRow, dump_json
from aw_server.datastore.sync_items import (
    ORIGIN_KEY,
    OriginInfo,
    PreparedBatch,
    SyncGap,
    SyncRejected,
    parse_data,
    short_device_id,
)

if TYPE_CHECKING:
    from aw_server.datastore.cache import BucketCache
    from aw_server.datastore.database import Database
    from aw_server.datastore.sync_trust import TrustStore

__all__ = ["ORIGIN_KEY", "ApplyStats", "OriginInfo", "SyncGap", "SyncRejected",
           "SyncStore", "short_device_id"]


@dataclass
class ApplyStats:
    items: int = 0
    changed: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class VerifiedBatch:
    """A batch whose origin (`info`, with its certificate) and signature were checked."""

    info: OriginInfo
    batch: PreparedBatch


class SyncStore:
    """Writes what sync receives: mirrors of other devices' buckets, events and
    tombstones, their logs' identities and high-water marks.

    Contract: `apply` takes only batches the sync layer has verified; it writes them and
    the new high-water marks in one transaction, or nothing (`SyncGap`). Own rows and
    blocked logs are never touched. It keeps `cache` in step with the mirror rows it
    writes, and records items it cannot hold through `trust.record_skipped`.
    """

    def __init__(self, db: Database, cache: BucketCache, trust: TrustStore) -> None:
        self.db = db
        self.cache = cache
        self.trust = trust

    # -- applying ----------------------------------------------------------------------
    def apply(self, batches: list[VerifiedBatch], *,
                    before_commit: Callable[[], None] | None = None) -> ApplyStats:
        """Apply verified batches in one transaction, moving each origin's hwm with them.
        Raises `SyncGap` (nothing written) when a batch starts above our hwm."""
        stats = ApplyStats()
        with self.cache.write() as conn:
            changes_before = conn.total_changes
            touched: set[str] = set()
            for verified in batches:
                batch, info = verified.batch, verified.info
                origin = self._resolve_origin(conn, info)
                stats.items += len(batch.events) + len(batch.tombstones)
                if origin is None:
                    continue
                found = conn.execute("SELECT hwm FROM sync_hwm WHERE origin = ?",
                                     (origin,)).fetchone()
                hwm = int(found[0]) if found else 0
                header = batch.header
                if header.start > hwm:
                    raise SyncGap(f"batch for {info.log_id} starts at {header.start}, "
                                  f"this device holds it up to {hwm}")
                keys = self._apply_buckets(conn, origin, info, batch.buckets, touched)
                self._apply_events(conn, origin, info, keys, batch.events, touched)
                self._apply_tombstones(conn, origin, batch.tombstones)
                self.trust.record_skipped(conn, origin, batch.skipped)
                stats.skipped += len(batch.skipped)
                if header.up_to > hwm:
                    conn.execute("INSERT OR REPLACE INTO sync_hwm (origin, hwm) VALUES (?, ?)",
                                 (origin, header.up_to))
                    # Kept so the batch can be passed on with its origin's own proof.
                    conn.execute(
                        "INSERT OR IGNORE INTO sync_segment (origin, up_to, start, sig, entries) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (origin, header.up_to, header.start, header.sig, batch.blob))
            stats.changed = conn.total_changes - changes_before
            if touched:
                marker = self.db.next_seq()
                for bucket_id in touched:
                    cached = self.cache.rows.get(bucket_id)
                    if cached is not None:
                        cached.last_seq = marker
            if before_commit is not None:
                before_commit()
        return stats

    # -- log identity (decided only by certificates the sync layer checked) ----------------
    def _resolve_origin(self, conn: sqlite3.Connection, info: OriginInfo) -> int | None:
        """The local origin id of a log, created on first sight; None if it is skipped."""
        row = conn.execute("SELECT id, is_self, blocked, cert FROM origin WHERE log_id = ?",
                           (info.log_id,)).fetchone()
        if row is not None:
            if row[1] or row[2]:
                return None
            if row[3] is None:  # known from before logs were signed: its first signed sight
                conn.execute("UPDATE origin SET cert = ?, created = ? WHERE id = ?",
                             (info.cert, info.created, row[0]))
                if self._retire_others(conn, int(row[0]), info):
                    return None
            return int(row[0])
        own = info.device_id == self.db.device_id
        cur = conn.execute(
            "INSERT INTO origin (log_id, device_id, label, hostname, is_self, blocked, created, "
            "cert) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
            (info.log_id, info.device_id, info.label, info.hostname, int(own), info.created,
             info.cert),
        )
        new = int(cur.lastrowid or 0)
        if own or self._retire_others(conn, new, info):
            # Our own device's other log (from before a restore) and a log older than one
            # we hold of the same device are refused (docs/sync.md, log rotation).
            return None
        return new

    def _retire_others(self, conn: sqlite3.Connection, origin: int, info: OriginInfo) -> bool:
        """Of one device's logs only the newest signed one lives: older ones, and any its
        device never signed, are purged and refused. True if `origin` is the older."""
        for other, created, log_id, cert in conn.execute(
            "SELECT id, created, log_id, cert FROM origin WHERE device_id = ? AND is_self = 0 "
            "AND blocked = 0 AND id != ?", (info.device_id, origin)).fetchall():
            if cert is not None and (int(created), log_id) > (info.created, info.log_id):
                self._purge_origin(conn, origin)
                return True
            self._purge_origin(conn, int(other))
        return False

    def _purge_origin(self, conn: sqlite3.Connection, origin: int) -> None:
        """Drop everything held of a foreign log and refuse it from now on (local only)."""
        for key, bucket_id in conn.execute("SELECT key, id FROM bucket WHERE origin = ?",
                                           (origin,)).fetchall():
            self.cache.rows.pop(bucket_id, None)
            self.cache.newest.pop(key, None)
        for table in ("event", "tombstone", "bucket", "sync_hwm", "sync_segment"):
            conn.execute(f"DELETE FROM {table} WHERE origin = ?", (origin,))
        conn.execute("UPDATE origin SET blocked = 1 WHERE id = ?", (origin,))

    def rotate_log(self) -> str:
        """Give this database a new change-log id (after a restore): peers then fetch it
        whole as a new log and retire the old one. Its `created` grows past the old log's
        even if the clock went back, since peers keep the newest."""
        with self.cache.write() as conn:
            new = uuid.uuid4().hex
            old = conn.execute("SELECT created FROM origin WHERE id = ?",
                               (self.db.self_origin,)).fetchone()[0]
            created = max(int(time.time() * 1e6), int(old) + 1)
            conn.execute("UPDATE origin SET log_id = ?, created = ? WHERE id = ?",
                         (new, created, self.db.self_origin))
            self.db.log_id = new
        return new

    def purge_device(self, device_id: str) -> int:
        """Delete every mirror of a device and refuse its logs from now on (local only)."""
        with self.cache.write() as conn:
            origins = [int(r[0]) for r in conn.execute(
                "SELECT id FROM origin WHERE device_id = ? AND is_self = 0", (device_id,))]
            for origin in origins:
                self._purge_origin(conn, origin)
        return len(origins)

    # -- mirror rows -------------------------------------------------------------------
    def _mirror_name(self, conn: sqlite3.Connection, info: OriginInfo, b: str) -> str:
        base = f"{b}-synced-from-{short_device_id(info.device_id)}"
        for name in (base, f"{base}-{info.log_id[:8]}", f"{base}-{info.log_id}"):
            if conn.execute("SELECT 1 FROM bucket WHERE id = ?", (name,)).fetchone() is None:
                return name
        return f"{base}-{uuid.uuid4().hex}"

    def _new_mirror(self, conn: sqlite3.Connection, origin: int, info: OriginInfo, b: str,
                    values: tuple[Any, ...]) -> tuple[int, str]:
        bucket_id = self._mirror_name(conn, info, b)
        cur = conn.execute(
            "INSERT INTO bucket (name, type, client, hostname, created, data, seq, "
            "deleted, epoch, origin_data, id, origin, origin_bucket_id, readonly) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (*values, bucket_id, origin, b),
        )
        return int(cur.lastrowid or 0), bucket_id

    def _apply_buckets(self, conn: sqlite3.Connection, origin: int, info: OriginInfo,
                       items: list[tuple[dict[str, Any], str]], touched: set[str]
                       ) -> dict[str, tuple[int, int] | None]:
        """Upsert mirror buckets; answer origin bucket id → (local key, epoch), or None
        for a deleted bucket."""
        keys: dict[str, tuple[int, int] | None] = {}
        for item, data_text in items:
            b = item["id"]
            row = conn.execute(
                "SELECT key, id, seq, epoch, origin_data FROM bucket "
                "WHERE origin = ? AND origin_bucket_id = ?", (origin, b),
            ).fetchone()
            if row is not None and item["seq"] <= row[2]:
                if item["seq"] == row[2] and row[4] is None:  # held from before signing
                    conn.execute("UPDATE bucket SET origin_data = ? WHERE key = ?",
                                 (data_text, row[0]))
                continue
            shown = dump_json({**parse_data(data_text), ORIGIN_KEY: info.device_id})
            values = (item["name"], item["type"], item["client"], item["hostname"],
                      item["created"], shown, item["seq"], int(item["deleted"]), item["epoch"],
                      data_text)
            if row is None:
                key, bucket_id = self._new_mirror(conn, origin, info, b, values)
                max_duration = 0
            else:
                key, bucket_id = int(row[0]), row[1]
                if item["deleted"]:
                    conn.execute("DELETE FROM event WHERE bucket = ?", (key,))
                elif item["epoch"] > row[3]:
                    conn.execute("DELETE FROM event WHERE bucket = ? AND seq <= ?",
                                 (key, item["epoch"]))
                conn.execute(
                    "UPDATE bucket SET name = ?, type = ?, client = ?, hostname = ?, "
                    "created = ?, data = ?, seq = ?, deleted = ?, epoch = ?, origin_data = ? "
                    "WHERE key = ?", (*values, key),
                )
                max_duration = int(conn.execute("SELECT max_duration FROM bucket WHERE key = ?",
                                                (key,)).fetchone()[0])
            touched.add(bucket_id)
            if item["deleted"]:
                self.cache.rows.pop(bucket_id, None)
                keys[b] = None
            else:
                self.cache.rows[bucket_id] = BucketRow(key, bucket_id, True, max_duration, 0)
                keys[b] = (key, item["epoch"])
        return keys

    def _event_bucket(self, conn: sqlite3.Connection, origin: int, info: OriginInfo, b: str,
                      touched: set[str]) -> tuple[int, int] | None:
        """Where events of origin bucket `b` go: its mirror, None if it was deleted, or a
        hidden placeholder (seq 0) when no version of it has arrived yet. A relay passes a
        bucket version it no longer holds as an entry alone, so its events can come
        before the bucket; the bucket's first version makes the placeholder its mirror."""
        row = conn.execute(
            "SELECT key, deleted, id, epoch, seq FROM bucket "
            "WHERE origin = ? AND origin_bucket_id = ?", (origin, b),
        ).fetchone()
        if row is None:
            key, _ = self._new_mirror(conn, origin, info, b,
                                      (None, "", "", "", "", "{}", 0, 1, 0, None))
            return key, 0
        if row[1] and row[4] != 0:
            return None
        if not row[1]:
            touched.add(row[2])
        return int(row[0]), int(row[3])

    def _apply_events(self, conn: sqlite3.Connection, origin: int, info: OriginInfo,
                      keys: dict[str, tuple[int, int] | None],
                      items: list[tuple[int, str, int, int, int, str]],
                      touched: set[str]) -> None:
        if not items:
            return
        params = []
        longest: dict[int, int] = {}
        for oid, b, start, duration, seq, data_text in items:
            if b not in keys:
                keys[b] = self._event_bucket(conn, origin, info, b, touched)
            found = keys[b]
            if found is None or seq <= found[1]:
                # The bucket was deleted at the origin, or this event belongs to a life of
                # the bucket before its latest re-creation: it went with that life.
                continue
            key = found[0]
            event_id = self.cache.take_event_ids(1)
            params.append((event_id, key, start, start + duration,
                           self.db.data.id_of(conn, data_text), origin, oid, seq))
            if duration > longest.get(key, -1):
                longest[key] = duration
        conn.executemany(
            "INSERT INTO event (id, bucket, start, end, data_id, origin, origin_id, seq) "
            "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE NOT EXISTS "
            "(SELECT 1 FROM tombstone WHERE origin = ?6 AND origin_id = ?7) "
            "ON CONFLICT (origin, origin_id) WHERE origin_id IS NOT NULL "
            "DO UPDATE SET bucket = excluded.bucket, "
            "start = excluded.start, end = excluded.end, data_id = excluded.data_id, "
            "seq = excluded.seq WHERE excluded.seq > event.seq",
            params,
        )
        for key, duration in longest.items():
            conn.execute("UPDATE bucket SET max_duration = ? WHERE key = ? AND max_duration < ?",
                         (duration, key, duration))
        for row in self.cache.rows.values():
            if row.key in longest and longest[row.key] > row.max_duration:
                row.max_duration = longest[row.key]

    def _apply_tombstones(self, conn: sqlite3.Connection, origin: int,
                          items: list[tuple[int, str, int]]) -> None:
        if not items:
            return
        conn.executemany("DELETE FROM event WHERE origin = ? AND origin_id = ? AND seq < ?",
                         [(origin, oid, seq) for oid, _b, seq in items])
        conn.executemany(
            "INSERT INTO tombstone (origin, origin_id, origin_bucket_id, seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin, origin_id) DO UPDATE SET seq = excluded.seq "
            "WHERE excluded.seq > tombstone.seq",
            [(origin, oid, b, seq) for oid, b, seq in items],
        )
