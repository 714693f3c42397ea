"""Export and import: identity round trips, merging without duplicates, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient


def fill(client: HttpClient) -> None:
    client.create_bucket("aw-watcher-window_h", "currentwindow")
    client.create_bucket("aw-watcher-afk_h", "afkstatus")
    client.post("/api/0/buckets/aw-watcher-window_h/events", json=[
        {"timestamp": f"2024-01-0{d}T1{h}:00:00.25+00:00", "duration": 60.5 * h,
         "data": {"app": "édïtor ✓", "title": f"file {d}-{h}", "nested": {"k": [1, 2]}}}
        for d in range(1, 4) for h in range(5)
    ])
    client.post("/api/0/buckets/aw-watcher-afk_h/events", json=[
        {"timestamp": "2024-01-01T10:00:00Z", "duration": 0, "data": {"status": "afk"}}
    ])


def strip_ids(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in e.items() if k != "id"} for e in events]


@pytest.fixture
def other(tmp_path: Path) -> Server:
    srv = make_server(tmp_path / "other")
    yield srv  # type: ignore[misc]
    srv.stop()


def test_export_has_attachment_headers_and_activitywatch_shape(client: HttpClient) -> None:
    fill(client)
    response = client.get("/api/0/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Disposition"] == "attachment; filename=aw-buckets-export.json"
    doc = response.json()
    assert sorted(doc["buckets"]) == ["aw-watcher-afk_h", "aw-watcher-window_h"]
    window = doc["buckets"]["aw-watcher-window_h"]
    assert window["type"] == "currentwindow" and len(window["events"]) == 15
    assert "id" not in window["events"][0]
    single = client.get("/api/0/buckets/aw-watcher-afk_h/export")
    assert single.headers["Content-Disposition"] == (
        "attachment; filename=aw-bucket-export_aw-watcher-afk_h.json")
    assert list(single.json()["buckets"]) == ["aw-watcher-afk_h"]


def test_export_then_import_into_fresh_server_is_identity(client: HttpClient,
                                                          other: Server) -> None:
    fill(client)
    exported = client.get("/api/0/export").json()
    with HttpClient(other.url) as fresh:
        response = fresh.post("/api/0/import", json=exported)
        assert response.status_code == 200
        assert fresh.get("/api/0/export").json() == exported
        for bucket_id in exported["buckets"]:
            mine = strip_ids(client.get(f"/api/0/buckets/{bucket_id}/events").json())
            theirs = strip_ids(fresh.get(f"/api/0/buckets/{bucket_id}/events").json())
            assert mine == theirs


def test_import_twice_adds_nothing_the_second_time(client: HttpClient, other: Server) -> None:
    fill(client)
    exported = client.get("/api/0/export").json()
    with HttpClient(other.url) as fresh:
        first = fresh.post("/api/0/import", json=exported).json()
        second = fresh.post("/api/0/import", json=exported).json()
        assert first["buckets"]["aw-watcher-window_h"]["inserted"] == 15
        assert second["buckets"]["aw-watcher-window_h"] == {"created": False, "inserted": 0,
                                                            "skipped": 15}
        assert fresh.get("/api/0/buckets/aw-watcher-window_h/events/count").json() == 15


def test_import_into_existing_bucket_merges_only_new_events(client: HttpClient) -> None:
    fill(client)
    exported = client.get("/api/0/export").json()
    events = exported["buckets"]["aw-watcher-afk_h"]["events"]
    events.append({"timestamp": "2024-01-01T11:00:00Z", "duration": 5,
                   "data": {"status": "not-afk"}})
    result = client.post("/api/0/import", json=exported).json()
    assert result["buckets"]["aw-watcher-afk_h"] == {"created": False, "inserted": 1,
                                                     "skipped": 1}
    assert result["buckets"]["aw-watcher-window_h"]["inserted"] == 0


def test_multipart_file_import(client: HttpClient, other: Server) -> None:
    fill(client)
    payload = client.get("/api/0/export").content
    with HttpClient(other.url) as fresh:
        response = fresh.post("/api/0/import",
                              files={"buckets.json": ("export.json", payload, "application/json")})
        assert response.status_code == 200, response.text
        assert fresh.get("/api/0/buckets/aw-watcher-window_h/events/count").json() == 15


def test_older_list_form_and_ids_in_the_file_are_accepted(client: HttpClient) -> None:
    doc = {"buckets": [{"id": "old", "type": "t", "client": "c", "hostname": "h",
                        "created": "2020-01-01T00:00:00+00:00",
                        "events": [{"id": 77, "timestamp": "2020-01-01T00:00:00Z",
                                    "duration": 1, "data": {}}]}]}
    assert client.post("/api/0/import", json=doc).status_code == 200
    [event] = client.get("/api/0/buckets/old/events").json()
    assert event["timestamp"] == "2020-01-01T00:00:00+00:00"


@pytest.mark.parametrize("doc", [
    [],
    {"buckets": "nope"},
    {"buckets": {"b": {"type": "t", "client": "c", "hostname": "h",
                       "events": [{"timestamp": "bad"}]}}},
    {"buckets": {"b": {"client": "c", "hostname": "h", "events": []}}},
    {"buckets": {"b": {"type": "t", "client": "c", "hostname": "h", "events": {}}}},
    {"buckets": {"b": {"type": "t", "client": "c", "hostname": "h",
                       "events": [{"timestamp": "2020-01-01T00:00:00Z", "duration": 1e308}]}}},
])
def test_bad_import_is_400_and_writes_nothing(client: HttpClient, doc: object) -> None:
    fill(client)
    before = client.get("/api/0/export").json()
    response = client.post("/api/0/import", json=doc)
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert client.get("/api/0/export").json() == before


def test_invalid_multipart_json_is_400(client: HttpClient) -> None:
    response = client.post("/api/0/import", files={"f": ("x.json", b"{not json", "text/plain")})
    assert response.status_code == 400
    assert "not a valid JSON export" in response.json()["message"]


def test_import_body_is_streamed_to_a_file_that_goes_afterwards(client: HttpClient,
                                                                tmp_path: Path) -> None:
    # Big enough for several runs and batches of the file reader.
    events = [{"timestamp": f"2024-02-01T00:{i // 60:02d}:{i % 60:02d}Z", "duration": 1,
               "data": {"i": i, "t": "✓" * (i % 5)}} for i in range(3000, 0, -1)]
    doc = {"buckets": {"big": {"id": "big", "type": "t", "client": "c", "hostname": "h",
                               "created": "2024-02-01T00:00:00+00:00", "name": None,
                               "data": {}, "events": events}}}
    body = json.dumps(doc).encode()
    response = client.post("/api/0/import", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"buckets": {"big": {"created": True, "inserted": 3000,
                                                   "skipped": 0}}}
    assert client.get("/api/0/buckets/big/events/count").json() == 3000
    cut = client.post("/api/0/import", data=body[: len(body) // 2],
                      headers={"Content-Type": "application/json"})
    assert cut.status_code == 400
    assert cut.json()["message"].startswith("the request body is not a valid JSON export")
    assert "server.sqlite" not in cut.json()["message"]  # no temporary name shown
    assert not list(tmp_path.glob("server.sqlite.upload-*"))


@pytest.mark.parametrize(("body", "what"), [
    (b"", "is empty"), (b"SQLite format 3\x00" + bytes(100), "/api/0/import/jobs"),
    (b"\x89PNG\r\n", "a PNG image"),
])
def test_import_body_that_is_no_export_is_400(client: HttpClient, tmp_path: Path,
                                              body: bytes, what: str) -> None:
    response = client.post("/api/0/import", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert what in response.json()["message"]
    assert not list(tmp_path.glob("server.sqlite.upload-*"))


def test_export_survives_unicode_edge_cases(client: HttpClient) -> None:
    client.create_bucket("u")
    client.post("/api/0/buckets/u/events", data=json.dumps(
        {"timestamp": "2024-01-01T00:00:00Z", "data": {"t": "lone \ud800 surrogate", "z": "日本"}}),
        headers={"Content-Type": "application/json"})
    doc = client.get("/api/0/export").json()
    assert doc["buckets"]["u"]["events"][0]["data"] == {"t": "lone \ud800 surrogate", "z": "日本"}


def test_export_of_unknown_bucket_is_a_clean_404(client: HttpClient) -> None:
    """The lookup once ran lazily inside the stream, after the 200 had been sent."""
    response = client.get("/api/0/buckets/nope/export")
    assert response.status_code == 404
    assert response.json()["message"] == "The requested bucket 'nope' does not exist"
