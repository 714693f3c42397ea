"""Sync storage in process: apply rules, relays, gaps, epochs, log rotation, and the
`SyncAccess` contract (the same session code the HTTP client runs)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_store import ORIGIN_KEY, SyncGap, short_device_id
from aw_server.errors import BucketIdTaken, Forbidden, NoSuchBucket
from aw_server.models import Event
from aw_server.sync.local import LocalAccess
from aw_server.sync.protocol import Delta, Summary
from tests.aw_server.sync.helpers import (
    T0,
    S,
    assert_converged,
    bucket,
    digest,
    sync,
    views,
)


def test_mirror_copies_bucket_fields_one_by_one_and_is_read_only(trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("win", host="laptop"))
    a.events.insert("win", [Event(T0, 5 * S, {"app": "x"})])
    sync(b, a)
    mirror_id = f"win-synced-from-{short_device_id(a.device_id)}"
    mirror = b.buckets.get(mirror_id)
    origin = a.buckets.get("win")
    assert (mirror.type, mirror.client, mirror.hostname, mirror.created, mirror.name) == (
        origin.type, origin.client, origin.hostname, origin.created, origin.name)
    assert mirror.data == {**origin.data, ORIGIN_KEY: a.device_id}
    assert mirror.readonly
    for write in (lambda: b.events.heartbeat(mirror_id, Event(T0, 0, {}), S),
                  lambda: b.events.insert(mirror_id, [Event(T0, 0, {})]),
                  lambda: b.events.delete(mirror_id, 1),
                  lambda: b.buckets.update(mirror_id, {"type": "x"}),
                  lambda: b.buckets.delete(mirror_id)):
        with pytest.raises(Forbidden):
            write()
    assert [e.data for e in b.events.read(mirror_id)] == [{"app": "x"}]


def test_heartbeat_merge_edit_delete_and_bucket_delete_propagate(trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    a.buckets.create(bucket("gone"))
    a.events.insert("gone", [Event(T0, S, {"x": 1})])
    for i in range(5):
        a.events.heartbeat("w", Event(T0 + i * S, 0, {"app": "x"}), 2 * S)
    old = a.events.insert("w", [Event(T0 - 100 * S, S, {"app": "old"})])[0]
    doomed = a.events.insert("w", [Event(T0 - 50 * S, S, {"app": "doomed"})])[0]
    sync(a, b)
    assert_converged([a, b])
    a.events.heartbeat("w", Event(T0 + 6 * S, 0, {"app": "x"}), 2 * S)  # extends the merged event
    a.events.insert("w", [Event(old.timestamp_us, 3 * S, {"app": "edited"}, old.id)])
    assert doomed.id is not None
    a.events.delete("w", doomed.id)
    a.buckets.delete("gone")
    sync(a, b)
    assert_converged([a, b])
    mirror = views(b)[a.db.log_id]
    assert "gone" not in mirror["buckets"]
    assert sorted(e[3]["app"] for e in mirror["events"].values()) == ["edited", "x"]


def test_deleted_and_recreated_bucket_drops_the_old_life_on_a_late_mirror(
        trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0, S, {"life": 1})])
    sync(a, b)
    a.buckets.delete("w")
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0 + 10 * S, S, {"life": 2})])
    sync(a, b)  # b never saw the delete as an item of its own: only the epoch tells
    assert_converged([a, b])


def test_relay_converges_without_a_and_c_meeting(trio: list[Datastore]) -> None:
    a, b, c = trio
    for store, name in zip(trio, "abc", strict=True):
        store.buckets.create(bucket(f"own-{name}"))
        store.events.insert(f"own-{name}", [Event(T0, S, {"from": name})])
    sync(a, b)
    sync(c, b)
    sync(a, b)
    assert_converged(trio)
    # C got A's rows through B; a second route must not bring duplicates.
    sync(c, b)
    assert len(views(c)[a.db.log_id]["events"]) == 1
    # Own rows never come back as mirrors of oneself.
    assert not any(bid.endswith(short_device_id(a.device_id)) for bid in a.buckets.ids())


def test_noop_sync_sends_nothing_and_writes_nothing(trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0 + i * S, S, {"i": i}) for i in range(50)])
    sync(a, b)
    before = (digest(a), digest(b))
    for _ in range(5):
        result = sync(a, b)
        assert (result.pulled_batches, result.pushed_batches) == (0, 0)
    assert (digest(a), digest(b)) == before


def test_chunks_resume_with_at_most_one_chunk_resent(trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0 + i * S, S, {"i": i}) for i in range(95)])

    class Killed(Exception):
        pass

    applied = 0

    def die_on_third() -> None:
        nonlocal applied
        applied += 1
        if applied == 3:
            raise Killed

    local_b = LocalAccess(b, before_commit=die_on_third)
    from aw_server.sync.session import run_session

    with pytest.raises(Killed):
        run_session(local_b, LocalAccess(a), max_items=10)
    held = len(views(b)[a.db.log_id]["events"])
    assert held == 20  # two chunks committed, the third rolled back with its mark
    result = run_session(LocalAccess(b), LocalAccess(a), max_items=10)
    # Sent in all: 3 chunks of 10 before the kill, then the 75 missing: one chunk resent.
    assert result.pulled_items == 95 - held
    assert_converged([a, b])


def test_a_batch_above_the_mark_is_a_gap_and_writes_nothing(trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0 + i * S, S, {}) for i in range(10)])
    delta, _ = LocalAccess(a).pull(Summary({a.db.log_id: 3}), max_items=100)
    before = digest(b)
    with pytest.raises(SyncGap):
        LocalAccess(b).push(delta)
    assert digest(b) == before


def test_self_rows_are_never_imported(trio: list[Datastore]) -> None:
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0, S, {})])
    sync(a, b)
    # b offers a's own log back to a as if a held nothing of it
    delta, _ = LocalAccess(b).pull(Summary({}), max_items=100)
    before = views(a)
    LocalAccess(a).push(delta)
    assert views(a) == before


def test_rotated_log_supersedes_the_old_one_on_peers(trio: list[Datastore]) -> None:
    """The new log's certificate, signed by its device, is what makes peers retire the old."""
    a, b, c = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0, S, {"v": 1})])
    sync(a, b)
    sync(c, b)
    old = a.db.log_id
    a.sync.rotate_log()
    a.events.insert("w", [Event(T0 + S, S, {"v": 2})])
    sync(a, b)
    assert old not in views(b) and len(views(b)[a.db.log_id]["events"]) == 2
    # c still holds the old log; meeting b must not resurrect it anywhere
    sync(c, b)
    sync(a, c)
    assert_converged(trio)
    assert all(old not in views(s) for s in trio)


def test_purge_removes_mirrors_and_blocks_relays(trio: list[Datastore]) -> None:
    a, b, c = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0, S, {})])
    sync(a, b)
    sync(c, b)
    assert b.sync.purge_device(a.device_id) == 1
    assert a.db.log_id not in views(b)
    sync(c, b)  # c still has a's rows: b must refuse them
    assert a.db.log_id not in views(b)


# -- order independence: any delivery order, with duplicates ----------------------------
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["beat", "insert", "edit", "delete", "drop"]),
                              st.integers(0, 7)), min_size=1, max_size=25),
       seed=st.integers(0, 2**16))
def test_batches_apply_in_any_order_with_duplicates(tmp_path_factory: pytest.TempPathFactory,
                                                    ops: list[tuple[str, int]],
                                                    seed: int) -> None:
    base = tmp_path_factory.mktemp("perm")
    origin = Datastore(base / "o.sqlite")
    receivers = [Datastore(base / f"r{i}.sqlite") for i in range(2)]
    try:
        origin.buckets.create(bucket("w"))
        deltas: list[Delta] = []
        for op, n in ops:
            events = origin.events.read("w")
            if op == "beat":
                origin.events.heartbeat("w", Event(T0 + n * S, 0, {"n": n % 2}), 3 * S)
            elif op == "insert":
                origin.events.insert("w", [Event(T0 + n * S, S, {"i": n})])
            elif op == "edit" and events:
                e = events[n % len(events)]
                origin.events.insert("w", [Event(e.timestamp_us, 2 * S, {"e": n}, e.id)])
            elif op == "delete" and events:
                origin.events.delete("w", events[n % len(events)].id or 0)
            elif op == "drop":
                origin.buckets.delete("w")
                origin.buckets.create(bucket("w"))
            delta, _ = LocalAccess(origin).pull(Summary({}), max_items=100)
            deltas.append(delta)
        rng = random.Random(seed)
        # Receiver 0 applies each snapshot in order; receiver 1 a shuffled stream with
        # duplicates (each a full delta from 0, so contiguity always holds).
        for delta in deltas:
            LocalAccess(receivers[0]).push(delta)
        stream = deltas + rng.sample(deltas, k=min(3, len(deltas)))
        rng.shuffle(stream)
        for delta in [*stream, deltas[-1]]:
            LocalAccess(receivers[1]).push(delta)
        own = views(origin)[origin.db.log_id]
        assert views(receivers[0])[origin.db.log_id] == own
        assert views(receivers[1])[origin.db.log_id] == own
    finally:
        for store in (origin, *receivers):
            store.close()


def test_events_an_import_published_directly_sync_edit_and_delete_like_any(
        trio: list[Datastore], tmp_path: Path) -> None:
    # Their origin ids are not their ids (docs/sync.md): identity must still hold.
    import json

    from aw_server.api import ServerAPI

    a, b, _ = trio
    events = [{"timestamp": f"2020-01-01T00:{m:02d}:00+00:00", "duration": 30,
               "data": {"m": m}} for m in range(59, -1, -1)]  # newest first, as exported
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"buckets": {"w": {
        "id": "w", "created": "2020-01-01T00:00:00+00:00", "name": None, "type": "t",
        "client": "c", "hostname": "h", "data": {}, "events": events}}}), encoding="utf-8")
    a.imports.read_batch = 7  # many direct parts, each below the last
    ServerAPI(a, hostname="h").import_file(export)
    ids = [r[0] for r in a.db.conn().execute("SELECT id FROM event WHERE id != origin_id")]
    assert len(ids) > 50, "the import did not take the direct path"
    a.events.insert("w", [Event(T0, S, {"new": 1})])
    sync(a, b)
    assert_converged([a, b])
    listed = a.events.read("w")
    edited, doomed = listed[5], listed[40]
    assert edited.id is not None and doomed.id is not None
    a.events.insert("w", [Event(edited.timestamp_us, 3 * S, {"edited": True}, edited.id)])
    a.events.delete("w", doomed.id)
    sync(a, b)
    assert_converged([a, b])
    mirrored = views(b)[a.db.log_id]["events"].values()
    assert len(mirrored) == 60 and sum(1 for e in mirrored if e[3] == {"edited": True}) == 1


def test_an_own_bucket_never_takes_a_mirrors_id_live_or_deleted(trio: list[Datastore]) -> None:
    """The defect: `create_bucket` revived a deleted mirror's row as an own bucket (still
    the other origin's row), and every later sync from this store failed."""
    a, b, c = trio
    c.buckets.create(bucket("edge"))
    c.events.insert("edge", [Event(T0, S, {"from": "c"})])
    sync(b, c)
    mirror = f"edge-synced-from-{short_device_id(c.device_id)}"
    with pytest.raises(BucketIdTaken, match="mirror of bucket 'edge' of device"):
        b.buckets.create(bucket(mirror))  # live mirror: 409, not 304
    c.buckets.delete("edge")
    sync(b, c)
    assert mirror not in b.buckets.ids()
    with pytest.raises(BucketIdTaken, match=r"deleted there"):
        b.buckets.create(bucket(mirror))
    with pytest.raises(NoSuchBucket):
        b.events.insert(mirror, [Event(T0, S, {})])
    b.buckets.create(bucket("own"))
    b.events.insert("own", [Event(T0, S, {"from": "b"})])
    sync(a, b)  # B's whole log still syncs
    assert_converged([a, b])
