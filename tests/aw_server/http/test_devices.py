"""`GET /api/0/devices` end to end: real server processes paired and synced through the
real local sync API. All of them run on this machine, so every device has the same
hostname, which is the case the list exists for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aw_server.datastore.sync_items import short_device_id
from tests.aw_server.sync.devices import Device, heartbeat, make_bucket, start_devices
from tests.support.client import HttpClient

FIELDS = {"device_id", "label", "hostname", "hostnames", "is_this_device", "state", "buckets",
          "purged", "first_event", "last_event", "last_sync", "clock_skew", "skew_warning",
          "revoked"}


def devices(http: HttpClient) -> list[dict[str, Any]]:
    response = http.get("/api/0/devices")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    listed: list[dict[str, Any]] = response.json()
    assert all(set(d) == FIELDS for d in listed)
    return listed


def by_id(device: Device) -> dict[str, dict[str, Any]]:
    return {d["device_id"]: d for d in devices(device.http)}


def mirror(bucket_id: str, origin: Device) -> str:
    return f"{bucket_id}-synced-from-{short_device_id(origin.device_id)}"


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Device, Device, Device]]:
    """a paired with b and c; b has window and AFK buckets, c only an AFK bucket; a synced
    with both, then b with a, so c's data reaches b only through a (relayed)."""
    a, b, c = start_devices(tmp_path_factory.mktemp("devices"), "abc")
    try:
        a.pair_with(b)
        a.pair_with(c)
        make_bucket(b, "aw-watcher-window_b")
        make_bucket(b, "aw-watcher-afk_b", "afkstatus")
        heartbeat(b, "aw-watcher-window_b", "2024-05-01T10:00:00Z", {"app": "vim"},
                  duration=60)
        make_bucket(c, "aw-watcher-afk_c", "afkstatus")
        heartbeat(c, "aw-watcher-afk_c", "2024-05-02T08:00:00Z", {"status": "not-afk"},
                  duration=30)
        a.sync_with(b)
        a.sync_with(c)
        b.sync_with(a)
        yield a, b, c
    finally:
        for device in (a, b, c):
            device.stop()


def test_a_server_alone_lists_only_itself_with_its_buckets(client: HttpClient) -> None:
    info = client.get("/api/0/info").json()
    for name in ("second", "first"):
        assert client.post(f"/api/0/buckets/{name}", json={
            "client": "t", "type": "currentwindow", "hostname": "!local"}).status_code == 200
    assert devices(client) == [{
        "device_id": info["device_id"], "hostname": info["hostname"],
        "label": f"{info['hostname']} ({short_device_id(info['device_id'])})",
        "hostnames": [info["hostname"]], "is_this_device": True, "state": "this_device",
        "buckets": ["second", "first"], "purged": False, "first_event": None, "last_event": None,
        "last_sync": None, "clock_skew": None, "skew_warning": False, "revoked": None}]


def test_devices_with_the_same_hostname_stay_distinct(
        group: tuple[Device, Device, Device]) -> None:
    a, b, c = group
    listed = devices(a.http)
    assert [d["device_id"] for d in listed] == [a.device_id, b.device_id, c.device_id]
    me, seen_b, seen_c = listed
    assert me["is_this_device"] and not seen_b["is_this_device"]
    assert me["buckets"] == []
    assert me["hostname"] == seen_b["hostname"] == seen_c["hostname"] != ""
    assert len({me["label"], seen_b["label"], seen_c["label"]}) == 3
    assert seen_b["buckets"] == [mirror("aw-watcher-window_b", b), mirror("aw-watcher-afk_b", b)]
    assert seen_b["hostnames"] == ["host-b"]
    assert (seen_b["first_event"], seen_b["last_event"]) == (
        "2024-05-01T10:00:00+00:00", "2024-05-01T10:01:00+00:00")
    for seen in (seen_b, seen_c):
        assert seen["state"] == "paired"
        assert seen["last_sync"] is not None and seen["last_sync"].endswith("+00:00")
        assert seen["skew_warning"] is False


def test_a_device_with_only_afk_data_is_a_device(group: tuple[Device, Device, Device]) -> None:
    a, _, c = group
    seen_c = by_id(a)[c.device_id]
    assert seen_c["buckets"] == [mirror("aw-watcher-afk_c", c)]
    assert (seen_c["first_event"], seen_c["last_event"]) == (
        "2024-05-02T08:00:00+00:00", "2024-05-02T08:00:30+00:00")
    buckets = a.http.get("/api/0/buckets/").json()
    assert buckets[seen_c["buckets"][0]]["type"] == "afkstatus"


def test_a_device_known_only_through_a_relay_is_listed_as_relayed(
        group: tuple[Device, Device, Device]) -> None:
    a, b, c = group
    listed = devices(b.http)
    # a wrote nothing of its own, so it comes last: a paired device nothing came from yet
    assert [d["device_id"] for d in listed] == [b.device_id, c.device_id, a.device_id]
    seen = {d["device_id"]: d for d in listed}
    assert (seen[a.device_id]["state"], seen[a.device_id]["buckets"]) == ("paired", [])
    relayed = seen[c.device_id]
    assert (relayed["state"], relayed["last_sync"], relayed["clock_skew"]) == (
        "relayed", None, None)
    assert relayed["buckets"] == [mirror("aw-watcher-afk_c", c)]
    assert relayed["hostname"] == "host-c"  # no pairing here: its buckets name it
    assert relayed["label"] == f"host-c ({short_device_id(c.device_id)})"


def test_a_label_edited_through_the_sync_api_shows_up(
        group: tuple[Device, Device, Device]) -> None:
    a, b, c = group
    default = by_id(a)[b.device_id]["label"]
    try:
        assert a.http.put(f"/api/0/sync/peers/{b.device_id}",
                          json={"label": "Work laptop"}).status_code == 200
        listed = by_id(a)
        assert listed[b.device_id]["label"] == "Work laptop"
        assert listed[c.device_id]["label"] != "Work laptop"
    finally:
        assert a.http.put(f"/api/0/sync/peers/{b.device_id}",
                          json={"label": ""}).status_code == 200
    assert by_id(a)[b.device_id]["label"] == default
    assert default.endswith(f" ({short_device_id(b.device_id)})")


def test_a_purged_device_stays_listed_with_no_buckets(tmp_path: Path) -> None:
    a, b = start_devices(tmp_path, "ab")
    try:
        a.pair_with(b)
        make_bucket(b, "w")
        heartbeat(b, "w", "2024-05-01T10:00:00Z", {})
        a.sync_with(b)
        assert by_id(a)[b.device_id]["buckets"] == [mirror("w", b)]
        assert by_id(a)[b.device_id]["purged"] is False
        response = a.http.delete(f"/api/0/sync/peers/{b.device_id}", json={"purge": True})
        assert response.status_code == 200 and response.json()["purged_origins"] == 1
        seen = by_id(a)[b.device_id]
        assert (seen["state"], seen["buckets"], seen["first_event"]) == ("unpaired", [], None)
        assert seen["purged"] is True
        assert seen["last_sync"] is not None  # the sync before the purge still happened
        assert by_id(b)[a.device_id]["state"] == "removed"
    finally:
        a.stop()
        b.stop()


def test_the_openapi_document_describes_the_endpoint(client: HttpClient) -> None:
    spec = client.get("/api/0/openapi.json").json()
    answer = spec["paths"]["/api/0/devices"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeviceList"}
    assert set(spec["components"]["schemas"]["Device"]["required"]) == FIELDS
