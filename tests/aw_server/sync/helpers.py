"""In-process helpers: datastores in tmp dirs, their normalized views, local sessions."""

from __future__ import annotations

import json
from typing import Any

from aw_server.datastore.store import Datastore
from aw_server.models import Bucket
from aw_server.sync.local import LocalAccess
from aw_server.sync.session import SessionResult, run_session

S = 1_000_000
T0 = 1_700_000_000 * S


def bucket(bucket_id: str, host: str = "host") -> Bucket:
    return Bucket(bucket_id, "currentwindow", "tests", host, "2024-01-01T00:00:00+00:00",
                  {"k": bucket_id}, f"name of {bucket_id}")


def sync(a: Datastore, b: Datastore, max_items: int = 2000) -> SessionResult:
    """One session started by `a` with `b` (both directions), in process."""
    return run_session(LocalAccess(a), LocalAccess(b), max_items=max_items)


def views(store: Datastore) -> dict[str, dict[str, Any]]:
    conn = store.db.conn()
    out: dict[str, dict[str, Any]] = {}
    for oid, log_id in conn.execute("SELECT id, log_id FROM origin WHERE blocked = 0"):
        buckets = {}
        for b, type_, client, hostname, created, name, data in conn.execute(
            "SELECT origin_bucket_id, type, client, hostname, created, name, data FROM bucket "
            "WHERE origin = ? AND deleted = 0", (oid,)
        ):
            parsed = json.loads(data)
            parsed.pop("$aw.sync.origin", None)
            buckets[b] = (type_, client, hostname, created, name, parsed)
        events = {
            origin_id: (b, start, end, json.loads(data))
            for origin_id, b, start, end, data in conn.execute(
                "SELECT coalesce(e.origin_id, e.id), b.origin_bucket_id, e.start, e.end, "
                "d.text FROM event e "
                "JOIN event_data d ON d.id = e.data_id "
                "JOIN bucket b ON b.key = e.bucket WHERE e.origin = ?", (oid,))
        }
        out[log_id] = {"buckets": buckets, "events": events}
    return out


def assert_converged(stores: list[Datastore]) -> None:
    """Every store's view of every origin equals that origin's own view."""
    own = {s.db.log_id: views(s)[s.db.log_id] for s in stores}
    for store in stores:
        seen = views(store)
        for log_id, view in own.items():
            assert seen.get(log_id, {"buckets": {}, "events": {}}) == view, (
                store.db.log_id, log_id)


def digest(store: Datastore) -> tuple[object, ...]:
    conn = store.db.conn()
    return tuple(
        tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"))
        for table in ("event", "bucket", "tombstone", "sync_hwm", "origin", "sync_peer")
    )
