"""Convergence of three real servers (A↔B↔C; A and C never meet) under any sequence of
heartbeats, inserts, edits, deletes, syncs, killed syncs and restarts (the rules are
those of docs/sync.md §6).

The servers live for the whole module; each example continues from the state the last
one left, which the invariants allow: they compare every device's view of each origin
with that origin's own database, never with a model.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.aw_server.sync.devices import Device, heartbeat, make_bucket, start_devices

PAIRS = [("a", "b"), ("b", "a"), ("c", "b"), ("b", "c")]
BASE = datetime(2024, 6, 1, tzinfo=UTC)

_devices: dict[str, Device] = {}
_clock: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    devices = start_devices(tmp_path_factory.mktemp("conv"), "abc")
    try:
        devices[0].pair_with(devices[1])
        devices[2].pair_with(devices[1])
        _devices.update({d.name: d for d in devices})
        _clock.update({d.name: 0.0 for d in devices})
        yield
    finally:
        for device in devices:
            device.stop()
        _devices.clear()


def stamp(name: str, advance: float) -> str:
    _clock[name] += advance
    return (BASE + timedelta(seconds=_clock[name])).isoformat()


def own_events(device: Device, bucket: str) -> list[dict[str, Any]]:
    response = device.http.get(f"/api/0/buckets/{bucket}/events?limit=-1")
    return response.json() if response.status_code == 200 else []


def sync(x: str, y: str) -> dict[str, Any]:
    return _devices[x].sync_with(_devices[y])


def settle() -> None:
    """Sync along the chain until a whole round moves no batch (bounded)."""
    for _ in range(5):
        moved = 0
        for x, y in PAIRS:
            result = sync(x, y)
            moved += result["pulled_batches"] + result["pushed_batches"]
        if moved == 0:
            return
    raise AssertionError("sync did not settle within 5 rounds")


class Convergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.restarts = 0

    @rule(dev=st.sampled_from("abc"), bucket=st.sampled_from(["w1", "w2"]),
          data=st.sampled_from([{"app": "x"}, {"app": "y"}]), dt=st.integers(0, 20),
          pulsetime=st.sampled_from([0, 5, 30]))
    def heartbeat(self, dev: str, bucket: str, data: dict[str, str], dt: int,
                  pulsetime: int) -> None:
        device = _devices[dev]
        make_bucket(device, bucket)
        heartbeat(device, bucket, stamp(dev, dt), data, pulsetime=pulsetime)

    @rule(dev=st.sampled_from("abc"), k=st.integers(1, 3))
    def insert_events(self, dev: str, k: int) -> None:
        device = _devices[dev]
        make_bucket(device, "w1")
        events = [{"timestamp": stamp(dev, 1), "duration": i, "data": {"i": i}}
                  for i in range(k)]
        assert device.http.post("/api/0/buckets/w1/events", json=events).status_code == 200

    @rule(dev=st.sampled_from("abc"), bucket=st.sampled_from(["w1", "w2"]),
          pick=st.integers(0, 50), delete=st.booleans())
    def edit_or_delete_own_event(self, dev: str, bucket: str, pick: int, delete: bool) -> None:
        device = _devices[dev]
        events = own_events(device, bucket)
        if not events:
            return
        event = events[pick % len(events)]
        if delete:
            path = f"/api/0/buckets/{bucket}/events/{event['id']}"
            assert device.http.delete(path).status_code == 200
        else:
            event["data"] = {"edited": pick}
            response = device.http.post(f"/api/0/buckets/{bucket}/events", json=[event])
            assert response.status_code == 200

    @rule(dev=st.sampled_from("abc"), bucket=st.sampled_from(["w1", "w2"]))
    def delete_own_bucket(self, dev: str, bucket: str) -> None:
        _devices[dev].http.delete(f"/api/0/buckets/{bucket}?force=1")

    @rule(pair=st.sampled_from(PAIRS))
    def sync(self, pair: tuple[str, str]) -> None:
        sync(*pair)

    @precondition(lambda self: self.restarts < 1)
    @rule(pair=st.sampled_from(PAIRS))
    def sync_killed(self, pair: tuple[str, str]) -> None:
        """Start a sync and SIGKILL the device that started it, wherever it is."""
        self.restarts += 1
        x, y = (_devices[n] for n in pair)
        x.http.post("/api/0/sync/now", json={"device_id": y.device_id})
        x.kill_and_restart()

    @precondition(lambda self: self.restarts < 1)
    @rule(dev=st.sampled_from("abc"))
    def restart(self, dev: str) -> None:
        self.restarts += 1
        _devices[dev].restart()

    @invariant()
    def mirrors_are_sound(self) -> None:
        if not _devices:
            return
        for device in _devices.values():
            with device.db() as conn:
                check_mirror_invariants(conn)

    def teardown(self) -> None:
        if not _devices:
            return
        settle()
        own = {d.own_log(): d.views()[d.own_log()] for d in _devices.values()}
        for device in _devices.values():
            seen = device.views()
            for log_id, view in own.items():
                assert seen.get(log_id, {"buckets": {}, "events": {}}) == view, (
                    device.name, log_id)
        # Settled: one more round sends nothing at all.
        for x, y in PAIRS:
            result = sync(x, y)
            assert (result["pulled_batches"], result["pushed_batches"]) == (0, 0)


def check_mirror_invariants(conn: sqlite3.Connection) -> None:
    self_id, device_id = conn.execute(
        "SELECT id, device_id FROM origin WHERE is_self = 1").fetchone()
    # No mirror of oneself, no rows of refused logs.
    assert conn.execute(
        "SELECT count(*) FROM bucket b JOIN origin o ON o.id = b.origin "
        "WHERE o.device_id = ? AND o.is_self = 0", (device_id,)).fetchone()[0] == 0
    assert conn.execute(
        "SELECT count(*) FROM event e JOIN origin o ON o.id = e.origin WHERE o.blocked = 1"
    ).fetchone()[0] == 0
    # Every mirrored row lies at or below the mark of its origin.
    assert conn.execute(
        "SELECT count(*) FROM event e LEFT JOIN sync_hwm h ON h.origin = e.origin "
        "WHERE e.origin != ? AND e.seq > coalesce(h.hwm, 0)", (self_id,)).fetchone()[0] == 0
    assert conn.execute(
        "SELECT count(*) FROM tombstone t LEFT JOIN sync_hwm h ON h.origin = t.origin "
        "WHERE t.origin != ? AND t.seq > coalesce(h.hwm, 0)", (self_id,)).fetchone()[0] == 0
    # Mirror buckets are read-only, own buckets are not.
    assert conn.execute(
        "SELECT count(*) FROM bucket WHERE (origin = ?) = (readonly = 1)", (self_id,)
    ).fetchone()[0] == 0


Convergence.TestCase.settings = settings(
    max_examples=6, stateful_step_count=20, deadline=None,
    suppress_health_check=list(HealthCheck))
TestConvergence = Convergence.TestCase
