"""The query result cache across a real server restart: a waitress server (with its query
worker) on a real SQLite file is stopped and started again on the same file, and the
same request is answered from the file beside the database."""

from __future__ import annotations

from pathlib import Path

from aw_server.datastore.result_cache import FILE_SUFFIX
from tests.conftest import make_server
from tests.support.client import HttpClient

PERIOD = "2024-01-02T00:00:00+00:00/2024-01-03T00:00:00+00:00"
PROGRAM = ['events = query_bucket("window");',
           'RETURN = merge_events_by_keys(events, ["app"]);']
BUCKET = {"client": "t", "type": "currentwindow", "hostname": "h"}


def ask(http: HttpClient) -> object:
    response = http.post("/api/0/query/", json={"timeperiods": [PERIOD], "query": PROGRAM},
                         params={"name": "summary"})
    assert response.status_code == 200, response.text
    return response.json()[0]


def heartbeat(http: HttpClient, second: int) -> None:
    response = http.post("/api/0/buckets/window/heartbeat", params={"pulsetime": 30},
                         json={"timestamp": f"2024-01-02T10:00:{second:02d}+00:00",
                               "duration": 0, "data": {"app": "editor"}})
    assert response.status_code == 200, response.text


def test_a_restarted_server_answers_from_the_cache_file_until_a_heartbeat(
        tmp_path: Path) -> None:
    server = make_server(tmp_path)
    try:
        with HttpClient(server.url) as http:
            assert http.post("/api/0/buckets/window", json=BUCKET).status_code == 200
            heartbeat(http, 0)
            heartbeat(http, 20)
            computed = ask(http)
    finally:
        server.stop()
    assert computed == [{"id": None, "timestamp": "2024-01-02T10:00:00+00:00",
                         "duration": 20.0, "data": {"app": "editor"}}]
    assert (tmp_path / ("server.sqlite" + FILE_SUFFIX)).exists()

    server = make_server(tmp_path)
    try:
        cache = server.queries.cache
        assert cache is not None
        with HttpClient(server.url) as http:
            assert ask(http) == computed
            assert (cache.hits, cache.misses) == (1, 0)
            heartbeat(http, 40)
            after = ask(http)
            assert (cache.hits, cache.misses) == (1, 1)
    finally:
        server.stop()
    assert after == [{"id": None, "timestamp": "2024-01-02T10:00:00+00:00",
                      "duration": 40.0, "data": {"app": "editor"}}]
