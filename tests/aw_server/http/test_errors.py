"""One error shape everywhere, the right status for each kind of bad request."""

from __future__ import annotations

from pathlib import Path

import pytest

from aw_server.http.app import api_routes
from aw_server.http.routing import openapi_path
from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient

JSON = {"Content-Type": "application/json"}


def assert_error(response: object, status: int) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["Content-Type"] == "application/json"  # type: ignore[attr-defined]
    message = response.json()["message"]  # type: ignore[attr-defined]
    assert isinstance(message, str) and message
    assert "Traceback" not in response.text  # type: ignore[attr-defined]
    return message


def test_unknown_api_route_is_json_404(client: HttpClient) -> None:
    assert_error(client.get("/api/0/nothing-here"), 404)


def test_wrong_method_is_json_405(client: HttpClient) -> None:
    assert_error(client.request("PATCH", "/api/0/buckets/"), 405)


def test_deeply_nested_json_is_400(client: HttpClient) -> None:
    client.create_bucket("b")
    nested = b"[" * 100_000 + b"]" * 100_000
    body = b'{"timestamp": "2024-01-01T00:00:00Z", "data": {"x": ' + nested + b"}}"
    message = assert_error(client.post("/api/0/buckets/b/events", data=body, headers=JSON), 400)
    assert "nested" in message
    assert client.get("/api/0/buckets/b/events/count").json() == 0


def test_non_utf8_body_is_400(client: HttpClient) -> None:
    client.create_bucket("b")
    assert_error(client.post("/api/0/buckets/b/events", data=b"\xff\xfe{", headers=JSON), 400)


def test_empty_body_is_400(client: HttpClient) -> None:
    client.create_bucket("b")
    assert "empty" in assert_error(client.post("/api/0/buckets/b/events", headers=JSON), 400)


def test_form_content_type_is_415(client: HttpClient) -> None:
    client.create_bucket("b")
    response = client.post("/api/0/buckets/b/events", data={"timestamp": "x"})
    assert_error(response, 415)


@pytest.fixture
def small_limit(tmp_path: Path) -> Server:
    srv = make_server(tmp_path, max_body_bytes=64 * 1024)
    yield srv  # type: ignore[misc]
    srv.stop()


def test_oversized_body_is_413_and_writes_nothing(small_limit: Server) -> None:
    with HttpClient(small_limit.url) as http:
        http.create_bucket("b")
        big = [{"timestamp": "2024-01-01T00:00:00Z", "data": {"pad": "x" * 1000}}] * 200
        message = assert_error(http.post("/api/0/buckets/b/events", json=big), 413)
        assert "limit" in message
        assert http.get("/api/0/buckets/b/events/count").json() == 0


def test_openapi_lists_every_api_route(client: HttpClient) -> None:
    spec = client.get("/api/0/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for route in api_routes():
        path = openapi_path(route.rule)
        for method in route.methods:
            assert method.lower() in spec["paths"][path], (method, path)


def test_api_browser_page_is_served(client: HttpClient) -> None:
    page = client.get("/api/")
    assert page.status_code == 200 and "API browser" in page.text
    assert client.get("/api/browser.js").status_code == 200


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/..%2f..%2fpyproject.toml", "/pages/x/../../../etc/passwd",
                                  "/api/../../../../etc/hostname"])
def test_path_traversal_never_leaves_the_web_folder(server: Server, path: str) -> None:
    """Raw request lines: a client library would normalise the dots away first."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", f"127.0.0.1:{server.port}")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode("utf-8", "replace")
    conn.close()
    assert "root:" not in body and "[project]" not in body
    if response.status == 200:
        assert "aw-server is running" in body  # the web UI's own page, nothing else
