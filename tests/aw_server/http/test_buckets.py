"""Bucket endpoints over real HTTP, with the exact bodies and statuses clients rely on."""

from __future__ import annotations

from tests.support.client import HttpClient

BODY = {"client": "aw-watcher-test", "type": "currentwindow", "hostname": "laptop"}


def test_info_names_host_version_testing_and_device(client: HttpClient) -> None:
    response = client.get("/api/0/info")
    assert response.status_code == 200
    info = response.json()
    assert set(info) == {"hostname", "version", "testing", "device_id"}
    assert info["hostname"] == "testhost" and info["testing"] is True
    assert info["version"].startswith("v")


def test_create_then_create_again_answers_304_without_body(client: HttpClient) -> None:
    first = client.post("/api/0/buckets/b1", json=BODY)
    assert (first.status_code, first.json()) == (200, {})
    again = client.post("/api/0/buckets/b1", json=BODY)
    assert again.status_code == 304 and again.content == b""
    # The keep-alive connection still works after a 304.
    assert client.get("/api/0/buckets/b1").status_code == 200


def test_get_bucket_returns_metadata(client: HttpClient) -> None:
    client.post("/api/0/buckets/b1", json={**BODY, "created": "2024-05-01T10:00:00+00:00",
                                          "data": {"k": "v"}})
    bucket = client.get("/api/0/buckets/b1").json()
    assert {k: bucket[k] for k in ("id", "type", "client", "hostname", "created", "data")} == {
        "id": "b1", "type": "currentwindow", "client": "aw-watcher-test", "hostname": "laptop",
        "created": "2024-05-01T10:00:00+00:00", "data": {"k": "v"},
    }
    assert bucket["last_updated"] is None


def test_bucket_list_is_keyed_by_id_with_last_updated(client: HttpClient) -> None:
    client.post("/api/0/buckets/a", json=BODY)
    client.post("/api/0/buckets/b", json=BODY)
    client.post("/api/0/buckets/b/events",
                json={"timestamp": "2024-01-01T00:00:00Z", "duration": 5, "data": {}})
    buckets = client.get("/api/0/buckets/").json()
    assert sorted(buckets) == ["a", "b"]
    assert buckets["b"]["last_updated"] == "2024-01-01T00:00:05+00:00"
    assert client.get("/api/0/buckets").json() == buckets


def test_bucket_list_is_in_creation_order_as_activitywatch(client: HttpClient) -> None:
    # A tool taking "the first window bucket" must get the one ActivityWatch gives.
    for bucket_id in ("aw-watcher-window_laptop", "aw-watcher-afk_laptop",
                      "aw-watcher-window_desktop"):
        client.post(f"/api/0/buckets/{bucket_id}", json=BODY)
    assert list(client.get("/api/0/buckets/").json()) == [
        "aw-watcher-window_laptop", "aw-watcher-afk_laptop", "aw-watcher-window_desktop"]
    client.delete("/api/0/buckets/aw-watcher-window_laptop", params={"force": 1})
    client.post("/api/0/buckets/aw-watcher-window_laptop", json=BODY)
    assert list(client.get("/api/0/buckets/").json()) == [
        "aw-watcher-afk_laptop", "aw-watcher-window_desktop", "aw-watcher-window_laptop"]


def test_local_hostname_is_substituted(client: HttpClient) -> None:
    client.post("/api/0/buckets/web", json={**BODY, "hostname": "!local"})
    bucket = client.get("/api/0/buckets/web").json()
    info = client.get("/api/0/info").json()
    assert bucket["hostname"] == "testhost"
    assert bucket["data"]["device_id"] == info["device_id"]


def test_unknown_bucket_is_404_with_message(client: HttpClient) -> None:
    response = client.get("/api/0/buckets/nope")
    assert response.status_code == 404
    assert response.json()["message"] == "The requested bucket 'nope' does not exist"
    for method, path in [("GET", "/api/0/buckets/nope/events"),
                         ("POST", "/api/0/buckets/nope/heartbeat?pulsetime=1"),
                         ("DELETE", "/api/0/buckets/nope")]:
        body = {"timestamp": "2024-01-01T00:00:00Z"} if method == "POST" else None
        assert client.request(method, path, json=body).status_code == 404


def test_update_bucket_changes_metadata_only(client: HttpClient) -> None:
    client.post("/api/0/buckets/b1", json=BODY)
    client.post("/api/0/buckets/b1/events", json={"timestamp": "2024-01-01T00:00:00Z"})
    response = client.put("/api/0/buckets/b1", json={"hostname": "desk", "data": {"x": 1}})
    assert (response.status_code, response.json()) == (200, {})
    bucket = client.get("/api/0/buckets/b1").json()
    assert (bucket["hostname"], bucket["data"], bucket["type"]) == ("desk", {"x": 1},
                                                                     "currentwindow")
    assert client.get("/api/0/buckets/b1/events/count").json() == 1


def test_missing_field_is_a_400_naming_it(client: HttpClient) -> None:
    response = client.post("/api/0/buckets/b1", json={"client": "c", "hostname": "h"})
    assert response.status_code == 400
    assert response.json()["message"] == "missing required field 'type'"
    assert client.get("/api/0/buckets/b1").status_code == 404


def test_delete_bucket_removes_it_and_its_events(client: HttpClient) -> None:
    client.post("/api/0/buckets/b1", json=BODY)
    client.post("/api/0/buckets/b1/events", json=[{"timestamp": "2024-01-01T00:00:00Z"}])
    assert client.delete("/api/0/buckets/b1").status_code == 200
    assert client.get("/api/0/buckets/b1").status_code == 404
    client.post("/api/0/buckets/b1", json=BODY)
    assert client.get("/api/0/buckets/b1/events").json() == []
