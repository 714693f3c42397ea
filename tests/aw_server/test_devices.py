"""The devices list (`aw_server/devices.py`) on real SQLite datastores, with data brought
by the real in-process sync session: this device alone, relayed and paired devices,
equal hostnames, a purged mirror, a revoked device, labels and clock skew."""

from __future__ import annotations

from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import short_device_id
from aw_server.datastore.sync_trust import Revocation
from aw_server.devices import default_label, list_devices
from aw_server.models import Event, format_us
from tests.aw_server.sync.helpers import T0, S, bucket, sync


def mirror(bucket_id: str, origin: Datastore) -> str:
    return f"{bucket_id}-synced-from-{short_device_id(origin.device_id)}"


def by_id(devices: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {d["device_id"]: d for d in devices}


def pair_row(store: Datastore, peer: Datastore, name: str) -> None:
    """The row a real pairing leaves (`SyncService.pair` trio exactly this)."""
    store.trust.save_peer(peer.device_id, name, bytes(32), "127.0.0.1:1", "123456",
                          bytes(32))


def test_this_device_alone_lists_its_own_buckets_in_creation_order(
        trio: list[Datastore]) -> None:
    a = trio[0]
    assert list_devices(a, "desk") == [{
        "device_id": a.device_id, "label": f"desk ({short_device_id(a.device_id)})",
        "hostname": "desk", "hostnames": [], "is_this_device": True, "state": "this_device",
        "buckets": [], "purged": False, "first_event": None, "last_event": None, "last_sync": None,
        "clock_skew": None, "skew_warning": False, "revoked": None}]
    for name in ("zeta", "alpha", "mid"):
        a.buckets.create(bucket(name, host="desk"))
    a.events.insert("alpha", [Event(T0, 5 * S, {"app": "x"})])
    a.events.insert("mid", [Event(T0 - 100 * S, S, {"app": "y"})])
    (me,) = list_devices(a, "desk")
    assert me["buckets"] == ["zeta", "alpha", "mid"]
    assert me["hostnames"] == ["desk"]
    assert (me["first_event"], me["last_event"]) == (format_us(T0 - 100 * S),
                                                     format_us(T0 + 5 * S))


def test_equal_hostnames_stay_two_devices_and_relayed_data_is_listed(
        trio: list[Datastore]) -> None:
    a, b, c = trio
    b.buckets.create(bucket("window", host="laptop"))
    b.events.insert("window", [Event(T0, S, {"app": "b"})])
    c.buckets.create(bucket("window", host="laptop"))
    sync(c, b)  # b's data reaches a only through c
    sync(a, c)
    devices = list_devices(a, "desk")
    assert [d["device_id"] for d in devices] == [a.device_id, c.device_id, b.device_id]
    found = by_id(devices)
    assert found[b.device_id]["buckets"] == [mirror("window", b)]
    assert found[c.device_id]["buckets"] == [mirror("window", c)]
    for peer in (b, c):
        entry = found[peer.device_id]
        assert (entry["hostname"], entry["state"], entry["is_this_device"]) == (
            "laptop", "relayed", False)
        assert entry["label"] == default_label("laptop", peer.device_id)
        assert entry["last_sync"] is None
    assert found[b.device_id]["label"] != found[c.device_id]["label"]
    assert found[b.device_id]["first_event"] == format_us(T0)
    assert found[c.device_id]["first_event"] is None


def test_a_paired_device_shows_label_last_sync_and_clock_skew(
        trio: list[Datastore]) -> None:
    a, b, _ = trio
    b.buckets.create(bucket("aw-watcher-afk_laptop", host="laptop"))
    sync(a, b)
    pair_row(a, b, "laptop")
    (_, entry) = list_devices(a, "desk")
    assert (entry["state"], entry["last_sync"], entry["clock_skew"]) == ("paired", None, None)
    a.trust.record_peer_sync(b.device_id, error=None, nbytes=10, skew=-95.5, completed=True)
    a.trust.set_peer_label(b.device_id, "Work laptop")
    (_, entry) = list_devices(a, "desk")
    assert entry["label"] == "Work laptop"
    assert entry["clock_skew"] == -95.5 and entry["skew_warning"] is True
    assert isinstance(entry["last_sync"], str) and entry["last_sync"].endswith("+00:00")
    assert entry["buckets"] == [mirror("aw-watcher-afk_laptop", b)]
    a.trust.record_peer_sync(b.device_id, error=None, nbytes=10, skew=30.0)
    (_, entry) = list_devices(a, "desk")
    assert entry["clock_skew"] == 30.0 and entry["skew_warning"] is False


def test_a_paired_device_nothing_came_from_yet_is_listed_last(
        trio: list[Datastore]) -> None:
    a, b, c = trio
    c.buckets.create(bucket("window", host="other"))
    pair_row(a, b, "fresh")
    sync(a, c)
    devices = list_devices(a, "desk")
    assert [d["device_id"] for d in devices] == [a.device_id, c.device_id, b.device_id]
    assert (devices[2]["state"], devices[2]["hostname"], devices[2]["buckets"]) == (
        "paired", "fresh", [])
    assert devices[2]["purged"] is False  # nothing came, nothing was deleted


def test_a_purged_device_stays_listed_with_no_buckets(trio: list[Datastore]) -> None:
    a, b, _ = trio
    b.buckets.create(bucket("window", host="laptop"))
    b.events.insert("window", [Event(T0, S, {"app": "b"})])
    sync(a, b)
    pair_row(a, b, "laptop")
    a.trust.set_peer_state(b.device_id, "revoked")  # what unpairing does
    assert a.sync.purge_device(b.device_id) == 1
    entry = by_id(list_devices(a, "desk"))[b.device_id]
    assert (entry["buckets"], entry["first_event"], entry["last_event"]) == ([], None, None)
    assert (entry["state"], entry["hostname"], entry["purged"]) == ("unpaired", "laptop", True)
    assert a.buckets.ids() == []


def test_a_revoked_device_keeps_its_data_and_is_marked(trio: list[Datastore]) -> None:
    a, b, c = trio
    b.buckets.create(bucket("window", host="laptop"))
    sync(a, b)
    at = T0 + 7 * S
    assert a.trust.add_revocation(Revocation(b.device_id, bytes(32), c.device_id, at,
                                             bytes(64)))
    entry = by_id(list_devices(a, "desk"))[b.device_id]
    assert entry["state"] == "revoked"
    assert entry["revoked"] == {"by": c.device_id, "at": format_us(at)}
    assert entry["buckets"] == [mirror("window", b)]
    assert entry["purged"] is False


def test_a_renamed_host_stays_one_device_and_shows_both_names(
        trio: list[Datastore]) -> None:
    a, b, _ = trio
    b.buckets.create(bucket("aw-watcher-window_old-name", host="old-name"))
    sync(a, b)
    b.buckets.create(bucket("aw-watcher-window_new-name", host="new-name"))
    sync(a, b)
    devices = list_devices(a, "desk")
    assert [d["device_id"] for d in devices] == [a.device_id, b.device_id]
    entry = devices[1]
    assert entry["hostnames"] == ["old-name", "new-name"]
    assert entry["hostname"] == "new-name"  # not paired here: its newest bucket names it
    assert entry["buckets"] == [mirror("aw-watcher-window_old-name", b),
                                mirror("aw-watcher-window_new-name", b)]


def test_a_restored_device_with_a_new_log_is_still_one_device(
        trio: list[Datastore]) -> None:
    a, b, _ = trio
    b.buckets.create(bucket("window", host="laptop"))
    b.events.insert("window", [Event(T0, S, {"v": 1})])
    sync(a, b)
    b.sync.rotate_log()  # what a restored database does (docs/sync.md §6)
    b.events.insert("window", [Event(T0 + 10 * S, S, {"v": 2})])
    sync(a, b)
    devices = list_devices(a, "desk")
    assert [d["device_id"] for d in devices] == [a.device_id, b.device_id]
    assert devices[1]["buckets"] == [mirror("window", b)]
    assert devices[1]["purged"] is False  # the old log was retired, the new one is held
    assert devices[1]["last_event"] == format_us(T0 + 11 * S)
