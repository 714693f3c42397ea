"""Host check, Origin policy and API key: each refusal is asserted to write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient

HB = {"timestamp": "2024-01-01T00:00:00Z", "duration": 0, "data": {"x": 1}}


def _count(client: HttpClient) -> int:
    response = client.get("/api/0/buckets/b/events/count")
    assert response.status_code == 200
    return int(response.json())


@pytest.fixture
def bucket(client: HttpClient) -> HttpClient:
    client.create_bucket("b")
    return client


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1.nip.io:{port}",
                                  "localhost:1", "", "[::2]:{port}", "localhost.evil.example",
                                  "127.0.0.2", "0.0.0.0"])
def test_forged_host_is_refused_and_writes_nothing(bucket: HttpClient, server: Server,
                                                   host: str) -> None:
    headers = {"Host": host.format(port=server.port)}
    response = bucket.post("/api/0/buckets/b/heartbeat?pulsetime=5", json=HB, headers=headers)
    assert response.status_code == 400
    assert "host header" in response.json()["message"]
    assert _count(bucket) == 0


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}",
                                  # no port: a client behind a local proxy on port 80
                                  "localhost", "127.0.0.1", "[::1]", "LOCALHOST"])
def test_loopback_hosts_are_accepted(bucket: HttpClient, server: Server, host: str) -> None:
    headers = {"Host": host.format(port=server.port)}
    assert bucket.get("/api/0/info", headers=headers).status_code == 200
    # The heartbeat's fast lane applies the same check.
    response = bucket.post("/api/0/buckets/b/heartbeat?pulsetime=5", json=HB, headers=headers)
    assert response.status_code == 200 and _count(bucket) == 1


def test_host_check_covers_static_pages(client: HttpClient) -> None:
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1",
                                    "chrome-extension://someotherextension"])
def test_foreign_origin_is_refused_and_writes_nothing(bucket: HttpClient, origin: str) -> None:
    response = bucket.post("/api/0/buckets/b/heartbeat?pulsetime=5", json=HB,
                           headers={"Origin": origin})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert _count(bucket) == 0
    preflight = bucket.request("OPTIONS", "/api/0/buckets/b/heartbeat",
                               headers={"Origin": origin,
                                        "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403


@pytest.mark.parametrize("origin", ["moz-extension://0b1c2d3e-aaaa-bbbb-cccc-123456789abc",
                                    "chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi",
                                    "http://127.0.0.1:{port}", "http://localhost:{port}"])
def test_allowed_origins_get_cors_headers(bucket: HttpClient, server: Server,
                                          origin: str) -> None:
    origin = origin.format(port=server.port)
    preflight = bucket.request("OPTIONS", "/api/0/buckets/b/heartbeat",
                               headers={"Origin": origin,
                                        "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    response = bucket.post("/api/0/buckets/b/heartbeat?pulsetime=5", json=HB,
                           headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


def test_configured_cors_origin_is_allowed(tmp_path: Path) -> None:
    srv = make_server(tmp_path, cors_origins=("http://my.dashboard:8080",))
    try:
        response = requests.get(srv.url + "/api/0/info",
                                headers={"Origin": "http://my.dashboard:8080"}, timeout=10)
        assert response.headers["Access-Control-Allow-Origin"] == "http://my.dashboard:8080"
    finally:
        srv.stop()


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[HttpClient]:
    srv = make_server(tmp_path, api_key="s3cret-key")
    with HttpClient(srv.url) as http:
        ok = http.post("/api/0/buckets/b", json={"client": "c", "type": "t", "hostname": "h"},
                       headers={"Authorization": "Bearer s3cret-key"})
        assert ok.status_code == 200
        yield http
    srv.stop()


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Bearer s3cret-key-and-more",
                                  "Basic s3cret-key", "s3cret-key"])
def test_missing_or_wrong_api_key_is_401_and_writes_nothing(keyed: HttpClient,
                                                           auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = keyed.post("/api/0/buckets/b/heartbeat?pulsetime=5", json=HB, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    good = {"Authorization": "Bearer s3cret-key"}
    assert keyed.get("/api/0/buckets/b/events/count", headers=good).json() == 0


def test_api_key_leaves_info_open_and_admits_the_key(keyed: HttpClient) -> None:
    assert keyed.get("/api/0/info").status_code == 200
    good = {"Authorization": "Bearer s3cret-key"}
    assert keyed.post("/api/0/buckets/b/heartbeat?pulsetime=5", json=HB,
                      headers=good).status_code == 200
