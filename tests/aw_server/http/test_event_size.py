"""One limit on an event's size (its data as JSON), refused with 413 naming the limit at
every entry, before anything is written: a row too big for a sync batch would stall
sync for good (docs/sync.md, "Sizes")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aw_server.api import ServerAPI
from aw_server.datastore.store import Datastore
from aw_server.errors import EventTooLarge
from aw_server.serve import Server
from tests.aw_server.http.test_import_jobs import upload, wait_for
from tests.conftest import make_server
from tests.support.client import HttpClient

LIMIT = 4096
BIG = {"title": "x" * LIMIT}  # a few bytes above the limit once encoded
EVENTS = "/api/0/buckets/b/events"


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[Server, HttpClient]]:
    server = make_server(tmp_path, max_event_bytes=LIMIT)
    try:
        with HttpClient(server.url) as http:
            http.create_bucket("b")
            yield server, http
    finally:
        server.stop()


def ev(data: dict[str, Any], ts: str = "2024-01-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"timestamp": ts, "duration": 1, "data": data, **extra}


def refused(response: Any) -> None:
    assert response.status_code == 413, response.text
    message = response.json()["message"]
    assert "4 KiB per event" in message and "max_event_kb" in message, message


def test_default_limit_is_one_mib_and_names_itself(client: HttpClient) -> None:
    client.create_bucket("b")
    response = client.post(EVENTS, json=ev({"blob": "y" * (2 * 1024 * 1024)}))
    assert response.status_code == 413
    assert "2.0 MiB as JSON, above the limit of 1 MiB per event" in response.json()["message"]
    assert client.post(EVENTS, json=ev({"blob": "y" * 1000})).status_code == 200
    assert client.get(EVENTS + "/count").json() == 1


def test_insert_single_and_list_write_nothing(small: tuple[Server, HttpClient]) -> None:
    _, http = small
    refused(http.post(EVENTS, json=ev(BIG)))
    refused(http.post(EVENTS, json=[ev({"ok": 1}), ev(BIG), ev({"ok": 2})]))
    assert http.get(EVENTS + "/count").json() == 0


def test_heartbeat_by_either_lane_writes_nothing(small: tuple[Server, HttpClient]) -> None:
    server, http = small
    beat = "/api/0/buckets/b/heartbeat?pulsetime=10"
    refused(http.post(beat, json=ev(BIG)))  # the WSGI heartbeat lane
    origin = {"Origin": server.url}  # a browser request goes through Flask
    refused(http.post(beat, json=ev(BIG), headers=origin))
    assert http.get(EVENTS + "/count").json() == 0


def test_replacing_an_event_keeps_the_stored_one(small: tuple[Server, HttpClient]) -> None:
    _, http = small
    stored = http.post(EVENTS, json=ev({"v": 1})).json()
    refused(http.post(EVENTS, json=ev(BIG, id=stored["id"])))
    assert http.get(EVENTS).json() == [stored]


def test_bucket_data_has_the_same_limit(small: tuple[Server, HttpClient]) -> None:
    _, http = small
    response = http.post("/api/0/buckets/big", json={"client": "c", "type": "t",
                                                     "hostname": "h", "data": BIG})
    assert response.status_code == 413
    assert http.get("/api/0/buckets/big").status_code == 404
    assert http.put("/api/0/buckets/b", json={"data": BIG}).status_code == 413
    assert http.get("/api/0/buckets/b").json()["data"] == {}


def export(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"buckets": {"imported": {"id": "imported", "type": "t", "client": "c",
                                     "hostname": "h", "created": "2024-01-01T00:00:00+00:00",
                                     "data": {}, "events": events}}}


def test_import_body_is_refused_whole(small: tuple[Server, HttpClient]) -> None:
    _, http = small
    response = http.post("/api/0/import", json=export([ev({"ok": 1}), ev(BIG)]))
    refused(response)
    assert "bucket 'imported'" in response.json()["message"]
    assert "imported" not in http.get("/api/0/buckets/").json()


def test_import_job_fails_naming_the_limit(small: tuple[Server, HttpClient]) -> None:
    _, http = small
    body = json.dumps(export([ev({"ok": 1}), ev(BIG, ts="2024-01-02T00:00:00Z")])).encode()
    answer = upload(http, "export.json", body)
    assert answer.status_code == 202, answer.text
    status = wait_for(http, answer.json()["id"])
    assert status["state"] == "failed"
    assert "max_event_kb" in status["error"] and "2024-01-02" in status["error"]
    assert "imported" not in http.get("/api/0/buckets/").json()


def test_file_import_takes_back_what_it_published(tmp_path: Path) -> None:
    """Direct publishing writes buckets while reading; an oversized event late in the
    file must take them back (the import fails as a whole)."""
    source = tmp_path / "export.json"
    events = [ev({"i": i}, ts=f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z") for i in range(300)]
    events.append(ev(BIG, ts="2024-01-02T00:00:00Z"))
    source.write_text(json.dumps(export(events)), encoding="utf-8")
    store = Datastore(tmp_path / "db.sqlite", max_event_bytes=LIMIT)
    try:
        store.imports.read_batch = 50
        with pytest.raises(EventTooLarge, match="bucket 'imported'"):
            ServerAPI(store, hostname="h").import_file(source)
        assert store.buckets.ids() == []
        assert store.db.conn().execute("SELECT count(*) FROM event").fetchone()[0] == 0
    finally:
        store.close()
