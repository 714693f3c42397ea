"""Property: whatever the network between three devices does to the batches in flight —
drop them, hold them back and deliver them late or twice, or forge them (alter an item,
invent one, move the marks, swap the origin's identity) — no device ever holds a version
its origin did not write, and once honest syncs resume every device converges to every
origin's true data (docs/sync.md §11).

In process: three real datastores on SQLite files, the same `LocalAccess` the HTTP
endpoint uses, the adversary between one side's `pull` and the other's `push`.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import SyncGap
from aw_server.errors import AWError
from aw_server.models import Event
from aw_server.sync.local import LocalAccess
from aw_server.sync.protocol import Delta
from tests.aw_server.sync.helpers import T0, S, assert_converged, bucket, sync

NAMES = "abc"
EDITS = ["beat", "insert", "edit", "delete", "drop_bucket"]
FORGERIES = ["data", "seq", "invent", "up_to", "from", "created", "device", "drop_item",
             "held_digest"]


@dataclass
class World:
    stores: dict[str, Datastore]
    # every version each origin ever wrote: (log id, origin id, seq) → (bucket, start, end,
    # data text), read from the origin after each edit (a delta only carries those)
    written: dict[tuple[str, int, int], tuple[str, int, int, str]] = field(default_factory=dict)
    in_flight: list[tuple[str, Delta]] = field(default_factory=list)
    clock: int = 0

    def record(self, name: str) -> None:
        store = self.stores[name]
        for oid, b, start, end, data, seq in store.db.conn().execute(
            "SELECT coalesce(e.origin_id, e.id), k.origin_bucket_id, e.start, e.end, d.text, "
            "e.seq FROM event e "
            "JOIN event_data d ON d.id = e.data_id "
            "JOIN bucket k ON k.key = e.bucket WHERE e.origin = ?", (store.db.self_origin,)):
            self.written[(store.db.log_id, oid, seq)] = (b, start, end, data)


def edit(world: World, name: str, op: str, n: int) -> None:
    store = world.stores[name]
    target = f"w{n % 2}"
    if target not in store.buckets.ids():
        store.buckets.create(bucket(target))
    world.clock += 1 + n % 3
    events = store.events.read(target)
    if op == "beat":
        store.events.heartbeat(target, Event(T0 + world.clock * S, 0, {"n": n % 2}), 3 * S)
    elif op == "insert" or not events:
        store.events.insert(target, [Event(T0 + world.clock * S, S, {"i": n})])
    elif op == "edit":
        e = events[n % len(events)]
        store.events.insert(target, [Event(e.timestamp_us, 2 * S, {"e": n}, e.id)])
    elif op == "delete":
        store.events.delete(target, events[n % len(events)].id or 0)
    else:
        store.buckets.delete(target)
    world.record(name)


def forge(delta: Delta, how: str, n: int, victim: str) -> Delta:
    """A copy of `delta` with one thing changed, as a hostile relay would."""
    forged = Delta(dict(delta.origins), parsed=copy.deepcopy(delta.batches()),
                   sender=delta.sender, sender_key=delta.sender_key)
    batches = forged.batches()
    if not batches:
        return forged
    batch = batches[n % len(batches)]
    events = batch["events"]
    if how == "data" and events:
        events[n % len(events)][5] = f'{{"forged":{n}}}'
    elif how == "seq" and events:
        events[n % len(events)][4] = batch["up_to"]
    elif how == "invent":
        events.append([10_000 + n, "w0", T0, S, batch["up_to"], '{"invented":true}'])
    elif how == "up_to":
        batch["up_to"] += 1 + n % 5
    elif how == "from" and batch["from"] > 0:
        batch["from"] -= 1
    elif how == "created":
        info = forged.origins[batch["origin"]]
        forged.origins[batch["origin"]] = type(info)(
            info.log_id, info.device_id, info.label, info.hostname, 2**61, info.key, info.cert)
    elif how == "device":
        info = forged.origins[batch["origin"]]
        forged.origins[batch["origin"]] = type(info)(
            info.log_id, victim, info.label, info.hostname, info.created, info.key, info.cert)
    elif how == "drop_item" and events:
        del events[n % len(events)]
    elif how == "held_digest" and batch["held"]:
        seq, digest = batch["held"][0]
        batch["held"][0] = (seq, bytes(16 - len(digest)) + digest[::-1])
    return forged


def deliver(world: World, to: str, delta: Delta) -> None:
    # Refused as a whole (a gap, a changed key) means nothing was written.
    with contextlib.suppress(SyncGap, AWError):
        LocalAccess(world.stores[to]).push(delta)


def assert_nothing_forged(world: World) -> None:
    for name, store in world.stores.items():
        own = store.db.self_origin
        for log_id, oid, seq, b, start, end, data in store.db.conn().execute(
            "SELECT o.log_id, e.origin_id, e.seq, k.origin_bucket_id, e.start, e.end, d.text "
            "FROM event e JOIN event_data d ON d.id = e.data_id "
            "JOIN origin o ON o.id = e.origin JOIN bucket k ON k.key = e.bucket "
            "WHERE e.origin != ?", (own,)):
            assert world.written.get((log_id, oid, seq)) == (b, start, end, data), (
                name, log_id, oid, seq, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_forged_dropped_late_and_doubled_batches_never_corrupt_and_all_converge(
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    base: Path = tmp_path_factory.mktemp("relay")
    world = World({n: Datastore(base / f"{n}.sqlite") for n in NAMES})
    try:
        for _ in range(data.draw(st.integers(5, 30), label="steps")):
            step = data.draw(st.sampled_from(["edit", "send", "late"]))
            if step == "edit":
                edit(world, data.draw(st.sampled_from(NAMES)), data.draw(st.sampled_from(EDITS)),
                     data.draw(st.integers(0, 20)))
                continue
            if step == "late" and world.in_flight:
                to, delta = world.in_flight[data.draw(st.integers(0, len(world.in_flight) - 1))]
                deliver(world, to, delta)  # late, maybe again
                assert_nothing_forged(world)
                continue
            frm, to = data.draw(st.permutations(NAMES))[:2]
            delta, _ = LocalAccess(world.stores[frm]).pull(
                LocalAccess(world.stores[to]).summary(), max_items=data.draw(st.integers(1, 7)))
            fate = data.draw(st.sampled_from(["deliver", "drop", "hold", *FORGERIES]))
            event(fate)
            if fate == "hold":
                world.in_flight.append((to, delta))
            elif fate in FORGERIES:
                deliver(world, to, forge(delta, fate, data.draw(st.integers(0, 50)), to))
            elif fate == "deliver":
                deliver(world, to, delta)
            assert_nothing_forged(world)
        stores = list(world.stores.values())
        for _ in range(4):  # honest syncs resume: every pair, until nothing moves
            for x in stores:
                for y in stores:
                    if x is not y:
                        sync(x, y)
        assert_converged(stores)
        assert_nothing_forged(world)
    finally:
        for store in world.stores.values():
            store.close()
