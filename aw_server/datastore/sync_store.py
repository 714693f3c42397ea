"""Sync storage (docs/sync.md §1, §6): deltas out of the change log, batches into mirrors.

Mixed into `Datastore`. Everything here runs inside the datastore's single writer or in
one read snapshot; the sync package above speaks only through these methods.

- `read_delta` reads, per origin, what lies above the receiver's high-water mark, as
  ready-to-send JSON texts (stored `data` texts are inlined, never parsed).
- `apply_delta` applies a list of batches in one transaction together with the new
  high-water marks: "for one identity the higher origin seq wins; a tombstone is a
  version". Own rows and blocked origins are never touched.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aw_server.datastore.rows import BucketRow, dump_json
from aw_server.errors import AWError
from aw_server.models import Event

if TYPE_CHECKING:
    from aw_server.datastore.core import Database

ORIGIN_KEY = "$aw.sync.origin"
_EVENT_OVERHEAD = 48  # bytes of an event item besides its data text


class SyncGap(AWError):
    """A batch starts above what the receiver holds of that origin (409 `gap`)."""

    status = 409
    error_type = "gap"


class SyncRejected(AWError):
    """A batch that cannot be applied as a whole (a sender bug): nothing is written."""

    status = 422
    error_type = "SyncRejected"


@dataclass(frozen=True, slots=True)
class OriginInfo:
    log_id: str
    device_id: str
    label: str
    hostname: str
    created: int

    def to_json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "label": self.label,
                "hostname": self.hostname, "created": self.created}


@dataclass
class DeltaText:
    """Batches as JSON object texts, plus the origins they name."""

    origins: dict[str, OriginInfo] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    items: int = 0
    more: bool = False
    own_up_to: int = 0  # highest seq of our own log handed out (0 if none)


@dataclass
class ApplyStats:
    items: int = 0
    changed: int = 0


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


_PEER_COLUMNS = ("device_id, name, key, state, created, changed, address, sas, last_sync, "
                 "last_error, last_bytes, skew")


def short_device_id(device_id: str) -> str:
    """First 7 base32 characters of the device id's bytes (mirror bucket suffix)."""
    try:
        raw = uuid.UUID(device_id).bytes
    except ValueError:
        raw = device_id.encode("utf-8")
    return base64.b32encode(raw).decode("ascii").lower()[:7]


def _bucket_item(row: tuple[Any, ...]) -> str:
    b, name, type_, client, hostname, created, data, seq, deleted, epoch = row
    if ORIGIN_KEY in data:
        parsed = json.loads(data)
        parsed.pop(ORIGIN_KEY, None)
        data = dump_json(parsed)
    return json.dumps({"id": b, "name": name, "type": type_, "client": client,
                       "hostname": hostname, "created": created, "seq": seq,
                       "deleted": bool(deleted), "epoch": epoch},
                      ensure_ascii=False, separators=(",", ":"))[:-1] + ',"data":' + data + "}"


class SyncStoreOps:
    """Mixed into `Datastore`; needs `db`, `_buckets`, `_last` and `_next_event_id`."""

    db: Database
    _buckets: dict[str, BucketRow]
    _last: dict[int, Event]
    _next_event_id: int

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # -- snapshots ---------------------------------------------------------------------
    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One consistent read view (WAL snapshot) on this thread's connection."""
        conn = self.db.conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- origins and summaries ---------------------------------------------------------
    def origin_infos(self) -> dict[str, OriginInfo]:
        rows = self.db.conn().execute(
            "SELECT log_id, device_id, label, hostname, created FROM origin WHERE blocked = 0"
        )
        return {r[0]: OriginInfo(r[0], r[1], r[2], r[3], int(r[4])) for r in rows}

    def self_origin_info(self) -> OriginInfo:
        return self.origin_infos()[self.db.log_id]

    def sync_summary(self) -> tuple[dict[str, int], list[str]]:
        """What this database holds of each log (own: all of it), and the logs it refuses."""
        conn = self.db.conn()
        hwms = {self.db.log_id: self.db.current_seq}
        for log_id, hwm in conn.execute(
            "SELECT o.log_id, h.hwm FROM sync_hwm h JOIN origin o ON o.id = h.origin "
            "WHERE o.blocked = 0 AND o.is_self = 0"
        ):
            hwms[log_id] = int(hwm)
        skip = [r[0] for r in conn.execute("SELECT log_id FROM origin WHERE blocked = 1")]
        return hwms, skip

    def own_max_seq(self) -> int:
        with self._snapshot() as conn:
            return self._own_max(conn)

    def _own_max(self, conn: sqlite3.Connection) -> int:
        top = 0
        for table in ("bucket", "event", "tombstone"):
            value = conn.execute(f"SELECT max(seq) FROM {table} WHERE origin = ?",
                                 (self.db.self_origin,)).fetchone()[0]
            top = max(top, int(value or 0))
        return top

    # -- reading deltas ----------------------------------------------------------------
    def read_delta(self, summary: dict[str, int], skip: set[str], *, max_items: int,
                   max_bytes: int) -> DeltaText:
        """Items above `summary` for every origin held, cut at the limits; all origins in
        one snapshot, each batch's `up_to` from the same snapshot."""
        out = DeltaText()
        budget_items, budget_bytes = max_items, max_bytes
        with self._snapshot() as conn:
            origins = conn.execute(
                "SELECT o.id, o.log_id, o.device_id, o.label, o.hostname, o.created, o.is_self, "
                "coalesce(h.hwm, 0) FROM origin o LEFT JOIN sync_hwm h ON h.origin = o.id "
                "WHERE o.blocked = 0 ORDER BY o.id"
            ).fetchall()
            for oid, log_id, device_id, label, hostname, created, is_self, hwm in origins:
                if log_id in skip:
                    continue
                limit = self._own_max(conn) if is_self else int(hwm)
                since = int(summary.get(log_id, 0))
                if limit <= since:
                    continue
                if budget_items <= 0 or budget_bytes <= 0:
                    out.more = True
                    break
                text, count, size, up_to = self._origin_batch(
                    conn, oid, log_id, since, limit, budget_items, budget_bytes)
                out.origins[log_id] = OriginInfo(log_id, device_id, label, hostname,
                                                 int(created))
                out.batches.append(text)
                out.items += count
                budget_items -= count
                budget_bytes -= size
                if is_self:
                    out.own_up_to = up_to
                if up_to < limit:
                    out.more = True
                    break
        return out

    def _origin_batch(self, conn: sqlite3.Connection, origin: int, log_id: str, since: int,
                      limit: int, max_items: int, max_bytes: int) -> tuple[str, int, int, int]:
        events = conn.execute(
            "SELECT e.seq, e.origin_id, b.origin_bucket_id, e.start, e.end, e.data "
            "FROM event e JOIN bucket b ON b.key = e.bucket "
            "WHERE e.origin = ? AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?",
            (origin, since, limit, max_items),
        ).fetchall()
        tombs = conn.execute(
            "SELECT seq, origin_id, origin_bucket_id FROM tombstone "
            "WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (origin, since, limit, max_items),
        ).fetchall()
        # A query that hit its LIMIT may hide rows of the other above its last seq, so the
        # merged stream is complete only up to the lower of the two cut points.
        bound = limit
        if len(events) == max_items:
            bound = min(bound, events[-1][0])
        if len(tombs) == max_items:
            bound = min(bound, tombs[-1][0])
        merged: list[tuple[int, bool, tuple[Any, ...]]] = [
            (r[0], True, r) for r in events if r[0] <= bound]
        merged += [(r[0], False, r) for r in tombs if r[0] <= bound]
        merged.sort(key=lambda m: m[0])
        names: dict[str, str] = {}
        event_parts: list[str] = []
        tomb_parts: list[str] = []
        used_buckets: set[str] = set()
        size = count = 0
        up_to = bound
        for seq, is_event, row in merged:
            b = row[2]
            quoted = names.get(b)
            if quoted is None:
                quoted = names[b] = json.dumps(b, ensure_ascii=False)
            if is_event:
                _, oid, _, start, end, data = row
                part = f"[{oid},{quoted},{start},{end - start},{seq},{data}]"
            else:
                part = f"[{row[1]},{quoted},{seq}]"
            if count and (count >= max_items or size + len(part) > max_bytes):
                break
            (event_parts if is_event else tomb_parts).append(part)
            if is_event:
                used_buckets.add(b)
            size += len(part) + 1
            count += 1
        if count < len(merged):
            up_to = merged[count - 1][0]
        bucket_rows = conn.execute(
            "SELECT origin_bucket_id, name, type, client, hostname, created, data, seq, "
            "deleted, epoch FROM bucket WHERE origin = ? AND seq > ?",
            (origin, since),
        ).fetchall()
        # Buckets changed inside the range, plus the current row of any bucket an event
        # refers to that the receiver may not hold yet (its seq can exceed `up_to`).
        bucket_parts = [_bucket_item(r) for r in bucket_rows
                        if r[7] <= up_to or r[0] in used_buckets]
        size += sum(len(p) for p in bucket_parts)
        text = (f'{{"origin":"{log_id}","from":{since},"up_to":{up_to},'
                f'"buckets":[{",".join(bucket_parts)}],"events":[{",".join(event_parts)}],'
                f'"tombstones":[{",".join(tomb_parts)}]}}')
        return text, count + len(bucket_parts), size, up_to

    # -- applying ----------------------------------------------------------------------
    def apply_delta(self, origins: dict[str, OriginInfo], batches: list[dict[str, Any]],
                    *, before_commit: Callable[[], None] | None = None) -> ApplyStats:
        """Apply validated batches in one transaction, moving each origin's hwm with them.
        Raises `SyncGap` (nothing written) when a batch starts above our hwm."""
        stats = ApplyStats()
        with self._write() as conn:
            changes_before = conn.total_changes
            touched: set[str] = set()
            for batch in batches:
                log_id = batch["origin"]
                info = origins.get(log_id)
                if info is None:
                    raise SyncRejected(f"batch names origin {log_id} without describing it")
                origin = self._resolve_origin(conn, info)
                stats.items += len(batch["events"]) + len(batch["tombstones"])
                if origin is None:
                    continue
                found = conn.execute("SELECT hwm FROM sync_hwm WHERE origin = ?",
                                     (origin,)).fetchone()
                hwm = int(found[0]) if found else 0
                if batch["from"] > hwm:
                    raise SyncGap(f"batch for {log_id} starts at {batch['from']}, "
                                  f"this device holds it up to {hwm}")
                keys = self._apply_buckets(conn, origin, info, batch["buckets"], touched)
                self._apply_events(conn, origin, keys, batch["events"], touched)
                self._apply_tombstones(conn, origin, batch["tombstones"])
                if batch["up_to"] > hwm:
                    conn.execute("INSERT OR REPLACE INTO sync_hwm (origin, hwm) VALUES (?, ?)",
                                 (origin, batch["up_to"]))
            stats.changed = conn.total_changes - changes_before
            if touched:
                marker = self.db.next_seq()
                for bucket_id in touched:
                    cached = self._buckets.get(bucket_id)
                    if cached is not None:
                        cached.last_seq = marker
            if before_commit is not None:
                before_commit()
        return stats

    def _resolve_origin(self, conn: sqlite3.Connection, info: OriginInfo) -> int | None:
        """The local origin id of a log, created on first sight; None if it is skipped."""
        row = conn.execute("SELECT id, is_self, blocked FROM origin WHERE log_id = ?",
                           (info.log_id,)).fetchone()
        if row is not None:
            return None if row[1] or row[2] else int(row[0])
        # A log we do not know. Our own device's other log (from before a restore) and a
        # log older than one we hold of the same device are refused; a newer one retires
        # the older (docs/sync.md, log rotation).
        blocked = info.device_id == self.db.device_id
        for other, created in conn.execute(
            "SELECT id, created FROM origin WHERE device_id = ? AND is_self = 0 AND blocked = 0",
            (info.device_id,),
        ).fetchall():
            if int(created) < info.created:
                self._purge_origin(conn, int(other))
            elif int(created) > info.created:
                blocked = True
        cur = conn.execute(
            "INSERT INTO origin (log_id, device_id, label, hostname, is_self, blocked, created) "
            "VALUES (?, ?, ?, ?, 0, ?, ?)",
            (info.log_id, info.device_id, info.label, info.hostname, int(blocked), info.created),
        )
        return None if blocked else int(cur.lastrowid or 0)

    def _purge_origin(self, conn: sqlite3.Connection, origin: int) -> None:
        """Drop everything held of a foreign log and refuse it from now on (local only)."""
        for key, bucket_id in conn.execute("SELECT key, id FROM bucket WHERE origin = ?",
                                           (origin,)).fetchall():
            self._buckets.pop(bucket_id, None)
            self._last.pop(key, None)
        conn.execute("DELETE FROM event WHERE origin = ?", (origin,))
        conn.execute("DELETE FROM tombstone WHERE origin = ?", (origin,))
        conn.execute("DELETE FROM bucket WHERE origin = ?", (origin,))
        conn.execute("DELETE FROM sync_hwm WHERE origin = ?", (origin,))
        conn.execute("UPDATE origin SET blocked = 1 WHERE id = ?", (origin,))

    def _mirror_name(self, conn: sqlite3.Connection, info: OriginInfo, b: str) -> str:
        name = f"{b}-synced-from-{short_device_id(info.device_id)}"
        taken = conn.execute("SELECT 1 FROM bucket WHERE id = ?", (name,)).fetchone()
        return f"{name}-{info.log_id[:8]}" if taken else name

    def _apply_buckets(self, conn: sqlite3.Connection, origin: int, info: OriginInfo,
                       items: list[dict[str, Any]], touched: set[str]
                       ) -> dict[str, tuple[int, int] | None]:
        """Upsert mirror buckets; answer origin bucket id → (local key, epoch), or None
        for a deleted bucket."""
        keys: dict[str, tuple[int, int] | None] = {}
        for item in items:
            b = item["id"]
            row = conn.execute(
                "SELECT key, id, seq, epoch FROM bucket WHERE origin = ? AND origin_bucket_id = ?",
                (origin, b),
            ).fetchone()
            if row is not None and item["seq"] <= row[2]:
                continue
            data = dump_json({**item["data"], ORIGIN_KEY: info.device_id})
            values = (item["name"], item["type"], item["client"], item["hostname"],
                      item["created"], data, item["seq"], int(item["deleted"]), item["epoch"])
            if row is None:
                bucket_id = self._mirror_name(conn, info, b)
                cur = conn.execute(
                    "INSERT INTO bucket (name, type, client, hostname, created, data, seq, "
                    "deleted, epoch, id, origin, origin_bucket_id, readonly) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (*values, bucket_id, origin, b),
                )
                key = int(cur.lastrowid or 0)
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
                    "created = ?, data = ?, seq = ?, deleted = ?, epoch = ? WHERE key = ?",
                    (*values, key),
                )
                max_duration = int(conn.execute("SELECT max_duration FROM bucket WHERE key = ?",
                                                (key,)).fetchone()[0])
            touched.add(bucket_id)
            if item["deleted"]:
                self._buckets.pop(bucket_id, None)
                keys[b] = None
            else:
                self._buckets[bucket_id] = BucketRow(key, bucket_id, True, max_duration, 0)
                keys[b] = (key, item["epoch"])
        return keys

    def _apply_events(self, conn: sqlite3.Connection, origin: int,
                      keys: dict[str, tuple[int, int] | None], items: list[list[Any]],
                      touched: set[str]) -> None:
        if not items:
            return
        params = []
        longest: dict[int, int] = {}
        for oid, b, start, duration, seq, data in items:
            if b not in keys:
                row = conn.execute(
                    "SELECT key, deleted, id, epoch FROM bucket "
                    "WHERE origin = ? AND origin_bucket_id = ?", (origin, b),
                ).fetchone()
                if row is None:
                    raise SyncRejected(f"an event refers to bucket {b!r}, which the batch lacks")
                keys[b] = None if row[1] else (int(row[0]), int(row[3]))
                if not row[1]:
                    touched.add(row[2])
            found = keys[b]
            if found is None or seq <= found[1]:
                # The bucket was deleted at the origin, or this event belongs to a life of
                # the bucket before its latest re-creation: it went with that life.
                continue
            key = found[0]
            event_id = self._next_event_id
            self._next_event_id += 1
            params.append((event_id, key, start, start + duration, dump_json(data), origin,
                           oid, seq))
            if duration > longest.get(key, -1):
                longest[key] = duration
        conn.executemany(
            "INSERT INTO event (id, bucket, start, end, data, origin, origin_id, seq) "
            "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE NOT EXISTS "
            "(SELECT 1 FROM tombstone WHERE origin = ?6 AND origin_id = ?7) "
            "ON CONFLICT (origin, origin_id) DO UPDATE SET bucket = excluded.bucket, "
            "start = excluded.start, end = excluded.end, data = excluded.data, "
            "seq = excluded.seq WHERE excluded.seq > event.seq",
            params,
        )
        for key, duration in longest.items():
            conn.execute("UPDATE bucket SET max_duration = ? WHERE key = ? AND max_duration < ?",
                         (duration, key, duration))
        for row in self._buckets.values():
            if row.key in longest and longest[row.key] > row.max_duration:
                row.max_duration = longest[row.key]

    def _apply_tombstones(self, conn: sqlite3.Connection, origin: int,
                          items: list[list[Any]]) -> None:
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

    # -- log identity ------------------------------------------------------------------
    def rotate_log(self) -> str:
        """Give this database a new change-log id (after a restore): peers then fetch it
        whole as a new log and retire the old one."""
        with self._write() as conn:
            new = uuid.uuid4().hex
            created = int(time.time() * 1e6)
            conn.execute("UPDATE origin SET log_id = ?, created = ? WHERE id = ?",
                         (new, created, self.db.self_origin))
            self.db.log_id = new
        return new

    def purge_device(self, device_id: str) -> int:
        """Delete every mirror of a device and refuse its logs from now on (local only)."""
        with self._write() as conn:
            origins = [int(r[0]) for r in conn.execute(
                "SELECT id FROM origin WHERE device_id = ? AND is_self = 0", (device_id,))]
            for origin in origins:
                self._purge_origin(conn, origin)
        return len(origins)

    # -- meta and peers ----------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def peers(self) -> list[PeerRow]:
        rows = self.db.conn().execute(
            f"SELECT {_PEER_COLUMNS} FROM sync_peer ORDER BY created")
        return [PeerRow(*r) for r in rows]

    def peer(self, device_id: str) -> PeerRow | None:
        row = self.db.conn().execute(
            f"SELECT {_PEER_COLUMNS} FROM sync_peer WHERE device_id = ?", (device_id,)).fetchone()
        return None if row is None else PeerRow(*row)

    def save_peer(self, device_id: str, name: str, key: bytes, address: str, sas: str) -> None:
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sync_peer (device_id, name, key, state, created, changed, "
                "address, sas) VALUES (?, ?, ?, 'active', ?, ?, ?, ?)",
                (device_id, name, key, now, now, address, sas),
            )

    def set_peer_state(self, device_id: str, state: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE sync_peer SET state = ?, changed = ? WHERE device_id = ?",
                         (state, time.time(), device_id))

    def record_peer_sync(self, device_id: str, *, error: str | None, nbytes: int,
                         skew: float | None, address: str | None = None) -> None:
        with self._write() as conn:
            if error is None:
                conn.execute(
                    "UPDATE sync_peer SET last_sync = ?, last_error = NULL, last_bytes = ?, "
                    "skew = coalesce(?, skew) WHERE device_id = ?",
                    (time.time(), nbytes, skew, device_id))
            else:
                conn.execute("UPDATE sync_peer SET last_error = ? WHERE device_id = ?",
                             (error, device_id))
            if address:
                conn.execute("UPDATE sync_peer SET address = ? WHERE device_id = ?",
                             (address, device_id))

    def forget_revoked_peers(self, older_than: float) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM sync_peer WHERE state = 'revoked' AND changed < ?",
                         (older_than,))
