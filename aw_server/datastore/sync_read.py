"""Reading deltas (docs/sync.md §6, §11): what lies above a receiver's high-water marks,
as ready-to-send JSON batch texts.

- Our own log: read from the change log in one snapshot, each batch signed by this
  device (`BatchSigner`) over its items' digests. Own items above the per-event limit
  are left out, one `Skipped` each, so one oversized row never stalls the log.
- Another device's log: passed on only as the batches its origin signed (the stored
  `sync_segment`s), each item sent whole if we hold that exact version, else as its
  entry alone (`held`): a relay can forward, never alter or add.
Stored `data` texts travel unparsed, as JSON strings (`sync_items`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aw_server.datastore.interning import EVENTS_WITH_TEXT
from aw_server.datastore.rows import text_size
from aw_server.datastore.sync_items import (
    KIND_BUCKET,
    KIND_EVENT,
    KIND_TOMBSTONE,
    OriginInfo,
    SegmentHeader,
    Skipped,
    b64,
    bucket_text,
    digest,
    entries_blob,
    entries_hash,
    event_head,
    parse_entries,
    quote,
    quote_data,
    tombstone_text,
)

if TYPE_CHECKING:
    from aw_server.datastore.database import Database


class BatchSigner(Protocol):
    """This device's signing key, as the store needs it (implemented in `sync.signing`)."""

    @property
    def key(self) -> bytes: ...

    def segment(self, header: SegmentHeader) -> bytes: ...

    def log_cert(self, info: OriginInfo) -> bytes: ...


@dataclass
class DeltaText:
    """Batches as JSON object texts, plus the origins they name."""

    origins: dict[str, OriginInfo] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    items: int = 0
    more: bool = False
    own_up_to: int = 0  # highest seq of our own log handed out (0 if none)
    skipped: list[Skipped] = field(default_factory=list)  # own items left out


@dataclass
class _Out:
    """One batch being built."""

    parts: dict[bytes, list[str]] = field(default_factory=lambda: {
        KIND_BUCKET: [], KIND_EVENT: [], KIND_TOMBSTONE: []})
    entries: list[tuple[int, bytes]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    size: int = 0
    count: int = 0  # whole items (not held ones)

    def add(self, kind: bytes, seq: int, wire: str, item_digest: bytes) -> None:
        self.parts[kind].append(wire)
        self.entries.append((seq, item_digest))
        self.size += len(wire) + 1
        self.count += 1

    def hold(self, seq: int, item_digest: bytes) -> None:
        self.held.append(f'[{seq},"{b64(item_digest)}"]')
        self.entries.append((seq, item_digest))
        self.size += 30

    def text(self, log_id: str, start: int, up_to: int, sig: bytes) -> str:
        parts = self.parts
        return (f'{{"origin":"{log_id}","from":{start},"up_to":{up_to},'
                f'"buckets":[{",".join(parts[KIND_BUCKET])}],'
                f'"events":[{",".join(parts[KIND_EVENT])}],'
                f'"tombstones":[{",".join(parts[KIND_TOMBSTONE])}],'
                f'"held":[{",".join(self.held)}],"sig":"{b64(sig)}"}}')


def _bucket_item(row: tuple[Any, ...]) -> tuple[str, bytes]:
    """(wire form, digest) of a bucket row whose `data` is the origin's exact text."""
    b, name, type_, client, hostname, created, data, seq, deleted, epoch = row
    signed = bucket_text(b, name, type_, client, hostname, created, seq, bool(deleted),
                         epoch, data)
    wire = bucket_text(b, name, type_, client, hostname, created, seq, bool(deleted), epoch,
                       quote_data(data))
    return wire, digest(KIND_BUCKET, signed)


def _event_item(oid: int, qb: str, start: int, end: int, seq: int, data: str
                ) -> tuple[str, bytes]:
    """(wire form, digest of the signed form) of an event row."""
    head = event_head(oid, qb, start, end - start, seq)
    return head + quote_data(data) + "]", digest(KIND_EVENT, head + data + "]")


_OWN_BUCKET = ("origin_bucket_id, name, type, client, hostname, created, data, seq, "
               "deleted, epoch")
# A mirror keeps its origin's exact data text aside (`data` gains the origin's id).
_MIRROR_BUCKET = ("origin_bucket_id, name, type, client, hostname, created, origin_data, "
                  "seq, deleted, epoch")


class DeltaReader:
    """Reads what a peer lacks, as ready-to-send batch texts; never writes.

    Contract: each read runs in one snapshot, so a delta is consistent even while the
    writer commits; own items above `max_event_bytes` are left out, one `Skipped` each.
    """

    def __init__(self, db: Database, max_event_bytes: int) -> None:
        self.db = db
        self.max_event_bytes = max_event_bytes

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

    # -- summaries ---------------------------------------------------------------------
    def summary(self) -> tuple[dict[str, int], list[str]]:
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
    def read(self, summary: dict[str, int], skip: set[str], *, max_items: int,
                   max_bytes: int, signer: BatchSigner) -> DeltaText:
        """Items above `summary` for every origin held, cut at the limits; all origins in
        one snapshot, each batch's `up_to` from the same snapshot."""
        out = DeltaText()
        budget = [max_items, max_bytes]
        with self._snapshot() as conn:
            origins = conn.execute(
                "SELECT o.id, o.log_id, o.device_id, o.label, o.hostname, o.created, o.is_self, "
                "coalesce(h.hwm, 0), o.cert, d.key FROM origin o "
                "LEFT JOIN sync_hwm h ON h.origin = o.id "
                "LEFT JOIN sync_device d ON d.device_id = o.device_id "
                "WHERE o.blocked = 0 AND o.device_id NOT IN "
                "(SELECT device_id FROM sync_revocation WHERE lifted = 0) ORDER BY o.id"
            ).fetchall()
            for oid, log_id, device_id, label, hostname, created, is_self, hwm, cert, key \
                    in origins:
                since = int(summary.get(log_id, 0))
                limit = self._own_max(conn) if is_self else int(hwm)
                if log_id in skip or limit <= since or (not is_self and not (cert and key)):
                    continue
                if budget[0] <= 0 or budget[1] <= 0:
                    out.more = True
                    break
                info = OriginInfo(log_id, device_id, label, hostname, int(created))
                if is_self:
                    info = OriginInfo(log_id, device_id, label, hostname, int(created),
                                      signer.key, signer.log_cert(info))
                    up_to = self._own_batch(conn, oid, info, since, limit, budget, out, signer)
                    out.own_up_to = up_to
                else:
                    info = OriginInfo(log_id, device_id, label, hostname, int(created),
                                      bytes(key), bytes(cert))
                    up_to = self._relayed_batches(conn, oid, info, since, limit, budget, out)
                    if up_to == since:
                        continue  # no batch of ours covers `since` + 1: not ours to pass on
                out.origins[log_id] = info
                if up_to < limit:
                    out.more = True
                    break
        return out

    def _own_rows(self, conn: sqlite3.Connection, origin: int, since: int, limit: int,
                  max_items: int) -> tuple[list[tuple[int, bool, tuple[Any, ...]]], int]:
        events = conn.execute(
            "SELECT e.seq, coalesce(e.origin_id, e.id), b.origin_bucket_id, e.start, e.end, "
            f"d.text FROM {EVENTS_WITH_TEXT} JOIN bucket b ON b.key = e.bucket "
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
        merged = [(r[0], True, r) for r in events if r[0] <= bound]
        merged += [(r[0], False, r) for r in tombs if r[0] <= bound]
        merged.sort(key=lambda m: m[0])
        return merged, bound

    def _own_batch(self, conn: sqlite3.Connection, origin: int, info: OriginInfo, since: int,
                   limit: int, budget: list[int], out: DeltaText, signer: BatchSigner) -> int:
        """One signed batch of our own log above `since`; answers its `up_to`."""
        max_items, max_bytes = budget
        merged, up_to = self._own_rows(conn, origin, since, limit, max_items)
        batch = _Out()
        quoted: dict[str, str] = {}
        used_buckets: set[str] = set()
        cap = self.max_event_bytes
        taken = 0
        for seq, is_event, row in merged:
            b = row[2]
            qb = quoted.get(b)
            if qb is None:
                qb = quoted[b] = quote(b)
            if is_event:
                _, oid, _, start, end, data = row
                if len(data) > cap // 4 and text_size(data) > cap:
                    out.skipped.append(Skipped(seq, oid, b, text_size(data),
                                               f"event: its data is {text_size(data)} bytes, "
                                               f"above the limit of {cap}"))
                    taken += 1
                    continue
                wire, item_digest = _event_item(oid, qb, start, end, seq, data)
            else:
                wire = tombstone_text(row[1], qb, seq)
                item_digest = digest(KIND_TOMBSTONE, wire)
            if batch.count and (batch.count >= max_items or batch.size + len(wire) > max_bytes):
                break
            batch.add(KIND_EVENT if is_event else KIND_TOMBSTONE, seq, wire, item_digest)
            if is_event:
                used_buckets.add(b)
            taken += 1
        if taken < len(merged):
            up_to = merged[taken - 1][0] if taken else since
        # Buckets changed inside the range, plus the current row of any bucket an event
        # refers to that the receiver may not hold yet (its seq can exceed `up_to`).
        for row in conn.execute(f"SELECT {_OWN_BUCKET} FROM bucket "
                                "WHERE origin = ? AND seq > ?", (origin, since)).fetchall():
            if row[7] > up_to and row[0] not in used_buckets:
                continue
            if len(row[6]) > cap // 4 and text_size(row[6]) > cap:
                out.skipped.append(Skipped(row[7], 0, row[0], text_size(row[6]),
                                           "bucket: its data is above the limit"))
                continue
            batch.add(KIND_BUCKET, row[7], *_bucket_item(row))
        if up_to <= since:
            return since
        blob = entries_blob(batch.entries)
        header = SegmentHeader(info.log_id, since, up_to, len(batch.entries),
                               entries_hash(blob))
        out.batches.append(batch.text(info.log_id, since, up_to, signer.segment(header)))
        out.items += batch.count
        budget[0] -= batch.count
        budget[1] -= batch.size
        return up_to

    def _relayed_batches(self, conn: sqlite3.Connection, origin: int, info: OriginInfo,
                         since: int, limit: int, budget: list[int], out: DeltaText) -> int:
        """Another device's log above `since`, as the batches its origin signed; answers
        the mark the receiver reaches."""
        while since < limit and budget[0] > 0 and budget[1] > 0:
            found = conn.execute(
                "SELECT start, up_to, sig, entries FROM sync_segment WHERE origin = ? "
                "AND start <= ? AND up_to > ? ORDER BY up_to DESC LIMIT 1",
                (origin, since, since)).fetchone()
            if found is None:
                break
            start, up_to, sig, blob = found
            batch = self._relayed_batch(conn, origin, since, int(start), int(up_to),
                                        parse_entries(bytes(blob)))
            out.batches.append(batch.text(info.log_id, int(start), int(up_to), bytes(sig)))
            out.items += batch.count
            budget[0] -= max(1, batch.count)
            budget[1] -= batch.size
            since = int(up_to)
        return since

    def _relayed_batch(self, conn: sqlite3.Connection, origin: int, since: int, start: int,
                       up_to: int, entries: dict[int, bytes]) -> _Out:
        """Every entry of a stored batch: the version itself where we hold it and the
        receiver lacks it (checked against the origin's digest), else the entry alone."""
        batch = _Out()
        lo = max(start, since)
        for seq, oid, b, t0, t1, data in conn.execute(
            "SELECT e.seq, coalesce(e.origin_id, e.id), b.origin_bucket_id, e.start, e.end, "
            f"d.text FROM {EVENTS_WITH_TEXT} JOIN bucket b ON b.key = e.bucket "
            "WHERE e.origin = ? AND e.seq > ? AND e.seq <= ?", (origin, lo, up_to)):
            self._offer(batch, entries, seq, KIND_EVENT,
                        *_event_item(oid, quote(b), t0, t1, seq, data))
        for seq, oid, b in conn.execute(
            "SELECT seq, origin_id, origin_bucket_id FROM tombstone "
            "WHERE origin = ? AND seq > ? AND seq <= ?", (origin, lo, up_to)):
            wire = tombstone_text(oid, quote(b), seq)
            self._offer(batch, entries, seq, KIND_TOMBSTONE, wire, digest(KIND_TOMBSTONE, wire))
        for row in conn.execute(f"SELECT {_MIRROR_BUCKET} FROM bucket WHERE origin = ? "
                                "AND seq > ? AND origin_data IS NOT NULL", (origin, since)):
            self._offer(batch, entries, row[7], KIND_BUCKET, *_bucket_item(row))
        for seq, item_digest in sorted(entries.items()):
            batch.hold(seq, item_digest)
        return batch

    @staticmethod
    def _offer(batch: _Out, entries: dict[int, bytes], seq: int, kind: bytes, wire: str,
               item_digest: bytes) -> None:
        """Send the version we hold if it is the one the origin signed at that seq."""
        if entries.get(seq) == item_digest:
            batch.add(kind, seq, wire, item_digest)
            del entries[seq]
