"""Two and three real servers, paired and synced through the real local API."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import requests

from aw_server.datastore.interning import find_or_add
from aw_server.datastore.sync_store import short_device_id
from tests.aw_server.sync.devices import Device, heartbeat, make_bucket, start_devices
from tests.support.sync_faults import EXIT_STATUS


def mirror_of(origin: Device, bucket: str) -> str:
    return f"{bucket}-synced-from-{short_device_id(origin.device_id)}"


def events(device: Device, bucket: str) -> list[dict[str, object]]:
    response = device.http.get(f"/api/0/buckets/{bucket}/events?limit=-1")
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()
    return found


def test_pairing_shows_the_same_code_on_both_sides(shared_pair: tuple[Device, Device]) -> None:
    a, b = shared_pair
    (peer_of_a,), (peer_of_b,) = a.peer_list(), b.peer_list()
    assert peer_of_a["device_id"] == b.device_id and peer_of_b["device_id"] == a.device_id
    assert peer_of_a["sas"] == peer_of_b["sas"] and len(peer_of_a["sas"]) == 6
    assert peer_of_a["state"] == peer_of_b["state"] == "active"
    assert "key" not in peer_of_a


def test_mirror_is_a_bucket_like_any_other_and_read_only(
        shared_pair: tuple[Device, Device]) -> None:
    a, b = shared_pair
    make_bucket(a, "aw-watcher-window_laptop")
    for i in range(3):
        heartbeat(a, "aw-watcher-window_laptop", f"2024-05-01T10:00:0{i}Z", {"app": "editor"})
    b.sync_with(a)
    mirror = mirror_of(a, "aw-watcher-window_laptop")
    buckets = b.http.get("/api/0/buckets/").json()
    assert buckets[mirror]["hostname"] == "host-a" and buckets[mirror]["type"] == "currentwindow"
    assert [e["duration"] for e in events(b, mirror)] == [2.0]
    query = {"timeperiods": ["2024-05-01T00:00:00Z/2024-05-02T00:00:00Z"],
             "query": [f'RETURN = sum_durations(query_bucket("{mirror}"));']}
    assert b.http.post("/api/0/query/", json=query).json() == [2.0]
    before = b.digest()
    for method, path, body in (
        ("POST", f"/api/0/buckets/{mirror}/heartbeat?pulsetime=5",
         {"timestamp": "2024-05-01T10:00:03Z", "duration": 0, "data": {"app": "editor"}}),
        ("POST", f"/api/0/buckets/{mirror}/events", [{"timestamp": "2024-05-01T11:00:00Z",
                                                      "duration": 1, "data": {}}]),
        ("DELETE", f"/api/0/buckets/{mirror}/events/1", None),
        ("PUT", f"/api/0/buckets/{mirror}", {"type": "x"}),
        ("DELETE", f"/api/0/buckets/{mirror}?force=1", None),
    ):
        assert b.http.request(method, path, json=body).status_code == 403, (method, path)
    assert b.digest() == before


def test_repeated_noop_syncs_change_nothing_and_send_no_batches(
        shared_pair: tuple[Device, Device]) -> None:
    a, b = shared_pair
    make_bucket(a, "noop")
    make_bucket(b, "noop")
    heartbeat(a, "noop", "2024-05-01T10:00:00Z", {"x": 1})
    heartbeat(b, "noop", "2024-05-01T10:00:00Z", {"x": 2})
    a.sync_with(b)
    before = (a.digest(), b.digest())
    for i in range(10):
        result = (a if i % 2 else b).sync_with(b if i % 2 else a)
        assert (result["pulled_batches"], result["pushed_batches"]) == (0, 0)
        assert result["requests"] == 1
    assert (a.digest(), b.digest()) == before


def test_zero_duration_ties_do_not_duplicate_activitywatch_711(
        shared_pair: tuple[Device, Device]) -> None:
    a, b = shared_pair
    make_bucket(a, "afk", "afkstatus")
    same = "2024-05-01T10:00:00Z"
    response = a.http.post("/api/0/buckets/afk/events", json=[
        {"timestamp": same, "duration": 0, "data": {"status": "afk"}},
        {"timestamp": same, "duration": 0, "data": {"status": "afk"}},
        {"timestamp": same, "duration": 0, "data": {"status": "not-afk"}}])
    assert response.status_code == 200
    for _ in range(5):
        b.sync_with(a)
        a.sync_with(b)
    assert len(events(b, mirror_of(a, "afk"))) == 3


def test_an_edit_of_an_old_event_reaches_the_mirror_aw_android_253(
        shared_pair: tuple[Device, Device]) -> None:
    a, b = shared_pair
    make_bucket(a, "edits")
    posted = a.http.post("/api/0/buckets/edits/events", json=[
        {"timestamp": f"2024-05-0{d}T10:00:00Z", "duration": 60, "data": {"d": d}}
        for d in range(1, 6)]).json()
    b.sync_with(a)
    old = posted[0]
    old["data"] = {"d": "edited"}
    assert a.http.post("/api/0/buckets/edits/events", json=[old]).status_code == 200
    b.sync_with(a)
    got = {str(e["data"]["d"]) for e in events(b, mirror_of(a, "edits"))}  # type: ignore[index]
    assert got == {"edited", "2", "3", "4", "5"}
    assert a.views()[a.own_log()] == b.views()[a.own_log()]


def test_three_devices_converge_through_a_relay(tmp_path: Path) -> None:
    a, b, c = start_devices(tmp_path, "abc")
    try:
        a.pair_with(b)
        c.pair_with(b)
        for device in (a, b, c):
            make_bucket(device, f"own-{device.name}")
            heartbeat(device, f"own-{device.name}", "2024-05-01T10:00:00Z", {"d": device.name})
        a.sync_with(b)
        c.sync_with(b)
        a.sync_with(b)
        own = {d.own_log(): d.views()[d.own_log()] for d in (a, b, c)}
        for device in (a, b, c):
            seen = device.views()
            assert {log: seen[log] for log in own} == own, device.name
        assert mirror_of(a, "own-a") in c.http.get("/api/0/buckets/").json()
    finally:
        for device in (a, b, c):
            device.stop()


def test_a_sync_killed_mid_chunk_resumes_with_at_most_one_chunk_resent(tmp_path: Path) -> None:
    a, b = start_devices(tmp_path, "ab")
    try:
        a.pair_with(b)
        make_bucket(a, "w")
        total = 5500
        for start in range(0, total, 1000):
            batch = [{"timestamp": "2024-05-01T10:00:00Z", "duration": i,
                      "data": {"i": i}} for i in range(start, start + 1000)][: total - start]
            assert a.http.post("/api/0/buckets/w/events", json=batch).status_code == 200
        # B dies (os._exit, like kill -9) before committing its second chunk.
        b.proc.stop()
        b.start_again(sync_fault="before_commit:2")
        with pytest.raises(requests.RequestException):
            b.http.post("/api/0/sync/now", json={"device_id": a.device_id, "wait": True})
        assert b.proc.proc is not None and b.proc.proc.wait(30) == EXIT_STATUS
        b.start_again()
        held = len(b.views().get(a.own_log(), {"events": {}})["events"])
        assert held == 2000  # exactly the first chunk was committed, with its mark
        result = b.sync_with(a)
        assert result["pulled_items"] == total - held  # only what was missing
        assert a.views()[a.own_log()] == b.views()[a.own_log()]
    finally:
        a.stop()
        b.stop()


def test_a_restored_database_starts_a_new_log_and_peers_follow(tmp_path: Path) -> None:
    a, b = start_devices(tmp_path, "ab")
    try:
        a.pair_with(b)
        make_bucket(a, "w")
        heartbeat(a, "w", "2024-05-01T10:00:00Z", {"v": 1})
        b.sync_with(a)
        a.proc.stop()
        backup = tmp_path / "backup.sqlite"
        shutil.copy(a.dbpath, backup)
        a.start_again()
        heartbeat(a, "w", "2024-05-01T11:00:00Z", {"v": 2})  # handed out, then lost
        b.sync_with(a)
        old_log = a.own_log()
        a.proc.stop()
        shutil.copy(backup, a.dbpath)
        a.start_again()
        new_log = a.own_log()
        assert new_log != old_log
        heartbeat(a, "w", "2024-05-01T12:00:00Z", {"v": 3})  # reuses the lost row's id
        b.sync_with(a)
        seen = b.views()
        assert old_log not in seen
        assert seen[new_log] == a.views()[new_log]
        assert sorted(e[3] for e in seen[new_log]["events"].values()) == [
            '{"v":1}', '{"v":3}']
    finally:
        a.stop()
        b.stop()


def test_unpair_with_purge_tells_the_peer_and_drops_its_mirrors(
        pair_ab: tuple[Device, Device]) -> None:
    a, b = pair_ab
    make_bucket(b, "w")
    heartbeat(b, "w", "2024-05-01T10:00:00Z", {})
    a.sync_with(b)
    assert mirror_of(b, "w") in a.http.get("/api/0/buckets/").json()
    response = a.http.delete(f"/api/0/sync/peers/{b.device_id}", json={"purge": True})
    assert response.status_code == 200 and response.json()["told_peer"] is True
    assert mirror_of(b, "w") not in a.http.get("/api/0/buckets/").json()
    assert a.peer_list()[0]["state"] == "revoked"
    assert b.peer_list()[0]["state"] == "removed"
    # b keeps its mirrors of a (never auto-deleted) and can no longer sync
    assert b.http.post("/api/0/sync/now", json={"device_id": a.device_id}).status_code == 404


def test_an_unreachable_peer_is_reported_not_raised(tmp_path: Path) -> None:
    a, b = start_devices(tmp_path, "ab")
    try:
        a.pair_with(b)
        b.stop()
        response = a.http.post("/api/0/sync/now", json={"device_id": b.device_id, "wait": True})
        assert response.status_code == 200
        assert response.json()["results"][b.device_id]["error_code"] == "unreachable"
        (peer,) = a.peer_list()
        assert peer["state"] == "active" and "cannot reach" in peer["last_error"]
        assert a.http.post("/api/0/sync/now", json={"device_id": "nobody"}).status_code == 404
    finally:
        a.stop()
        b.stop()


def test_a_row_too_big_for_any_batch_is_skipped_visibly_and_the_log_goes_on(
        tmp_path: Path) -> None:
    """A 12 MB event written before the limit existed: it is left out with a recorded
    error (listed by GET /api/0/sync/skipped), everything around it syncs."""
    a, b = start_devices(tmp_path, "ab")
    try:
        a.pair_with(b)
        make_bucket(a, "w")
        heartbeat(a, "w", "2024-05-01T10:00:00Z", {"n": 1})
        a.proc.stop()
        with sqlite3.connect(a.dbpath) as conn:  # as an older version could have stored it
            seq = 1 + max(conn.execute(f"SELECT max(seq) FROM {t}").fetchone()[0] or 0
                          for t in ("bucket", "event"))
            data_id = find_or_add(conn, json.dumps({"blob": "x" * (12 * 1024 * 1024)}))
            conn.execute("INSERT INTO event (bucket, start, end, data_id, origin, origin_id, "
                         "seq) SELECT key, 1714557700000000, 1714557701000000, ?, origin, 999, "
                         "? FROM bucket WHERE id = 'w'", (data_id, seq))
        a.start_again()
        heartbeat(a, "w", "2024-05-01T11:00:00Z", {"n": 2})
        result = b.sync_with(a)
        assert result["skipped"] == 1 and result["bytes_received"] < 1024 * 1024
        assert sorted(json.loads(e[3])["n"] for e in b.views()[a.own_log()]["events"].values()
                      ) == [1, 2]
        (skipped,) = a.http.get("/api/0/sync/skipped").json()
        assert skipped["own"] and skipped["size"] > 12 * 1024 * 1024
        assert "above the limit of 1048576" in skipped["reason"]
        heartbeat(a, "w", "2024-05-01T12:00:00Z", {"n": 3})
        assert b.sync_with(a)["pulled_items"] == 1
    finally:
        a.stop()
        b.stop()


def test_an_own_bucket_cannot_take_a_deleted_mirrors_id_and_sync_goes_on(
        tmp_path: Path) -> None:
    """The sequence of the defect, on real servers: C deletes `edge`, B syncs, then a
    client of B creates `edge-synced-from-<C>`."""
    a, b, c = start_devices(tmp_path, "abc")
    try:
        c.pair_with(b)
        a.pair_with(b)
        make_bucket(c, "edge")
        heartbeat(c, "edge", "2024-05-01T10:00:00Z", {"x": 1})
        b.sync_with(c)
        assert c.http.delete("/api/0/buckets/edge?force=1").status_code == 200
        b.sync_with(c)
        mirror = mirror_of(c, "edge")
        before = b.digest()
        response = b.http.post(f"/api/0/buckets/{mirror}", json={
            "client": "c", "type": "t", "hostname": "h"})
        assert response.status_code == 409, response.text
        assert "mirror of bucket 'edge' of device" in response.json()["message"]
        assert b.http.post(f"/api/0/buckets/{mirror}/events", json=[
            {"timestamp": "2024-05-01T10:00:00Z", "data": {}}]).status_code == 404
        assert b.digest() == before
        make_bucket(b, "own")
        heartbeat(b, "own", "2024-05-01T10:00:00Z", {"b": 1})
        a.sync_with(b)  # every sync from B still works
        assert b.views()[b.own_log()] == a.views()[b.own_log()]
    finally:
        for device in (a, b, c):
            device.stop()


def test_sync_now_reports_every_peer_failures_first_and_records_each_attempt(
        tmp_path: Path) -> None:
    a, b, c = start_devices(tmp_path, "abc")
    try:
        a.pair_with(b)
        a.pair_with(c)
        c.stop()
        labelled = a.http.put(f"/api/0/sync/peers/{b.device_id}", json={"label": "desk"})
        assert labelled.status_code == 200 and labelled.json()["label"] == "desk"
        answer = a.http.post("/api/0/sync/now", json={"wait": True}).json()
        assert [(r["device_id"], r["ok"]) for r in answer["report"]] == [
            (c.device_id, False), (b.device_id, True)]
        assert answer["report"][1]["label"] == "desk"
        short = short_device_id(c.device_id)
        assert answer["report"][0]["label"].endswith(f" ({short})")  # "hostname (id)"
        peers = {p["device_id"]: p for p in a.peer_list()}
        assert peers[c.device_id]["last_attempt"] and peers[c.device_id]["last_sync"] is None
        assert "cannot reach" in peers[c.device_id]["last_error"]
        assert peers[b.device_id]["last_bytes"] > 0 and peers[b.device_id]["last_error"] is None
        assert a.http.put(f"/api/0/sync/peers/{b.device_id}",
                          json={"label": "x" * 101}).status_code == 400
    finally:
        for device in (a, b, c):
            device.stop()


def test_a_restore_only_a_peer_can_tell_is_proven_by_a_batch_the_device_signed(
        tmp_path: Path) -> None:
    """Database and sync-log record restored together: only B knows A handed out more.
    B shows the batch A signed (`tip`); A starts a new log, and B follows."""
    a, b = start_devices(tmp_path, "ab")
    try:
        a.pair_with(b)
        make_bucket(a, "w")
        heartbeat(a, "w", "2024-05-01T10:00:00Z", {"v": 1})
        b.sync_with(a)
        a.proc.stop()
        for suffix in ("", ".sync-log"):
            shutil.copy(f"{a.dbpath}{suffix}", tmp_path / f"backup{suffix}")
        a.start_again()
        heartbeat(a, "w", "2024-05-01T11:00:00Z", {"v": 2})
        b.sync_with(a)
        old_log = a.own_log()
        a.proc.stop()
        for suffix in ("", ".sync-log"):
            shutil.copy(tmp_path / f"backup{suffix}", f"{a.dbpath}{suffix}")
        a.start_again()
        assert a.own_log() == old_log  # nothing local shows the restore
        b.sync_with(a)
        assert a.own_log() != old_log
        b.sync_with(a)
        assert b.views()[a.own_log()] == a.views()[a.own_log()]
        assert old_log not in b.views()
    finally:
        a.stop()
        b.stop()
