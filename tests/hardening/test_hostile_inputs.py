"""Hostile inputs not covered elsewhere: out-of-range numbers in query strings, regex
bombs reaching the query endpoint, and path traversal below folders given with
`--webpath` and `--custom-static`.

Already covered, so not repeated here: oversized bodies actually sent (413) and deeply
nested JSON (400) in tests/aw_server/http/test_errors.py, traversal below the built-in web UI
there too, regex bombs in `filter_keyvals_regex` through `run_query` and parser/program
fuzzing in tests/aw_server/query, schema-driven fuzzing of every endpoint in
test_api_fuzz.py. The HTTP-level query fuzzer is test_query_fuzz_http.py.

A hang must fail the test, not the suite: every request has a timeout, and servers that
may be stuck in a runaway regex are separate processes, killed at the end.
"""

from __future__ import annotations

import http.client
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient
from tests.support.servers import ServerProcess, start_server_process

SECRET = "TOP-SECRET-do-not-serve"
#: Generous bound on a request that must be refused quickly: a hang guard, not a timing
#: claim (the regex budget is 1 s per value).
HANG_GUARD_S = 20.0


@pytest.fixture(scope="module")
def one_event(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(Path(tmp_path_factory.mktemp("hostile")))
    with HttpClient(srv.url) as client:
        client.create_bucket("b")
        response = client.post("/api/0/buckets/b/events", json=[
            {"timestamp": "2024-01-01T00:00:00Z", "duration": 1, "data": {"title": "t"}}])
        assert response.status_code == 200
    yield srv
    srv.stop()


# --------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("limit", [
    "9223372036854775807",
    "9223372036854775808",  # past SQLite's int64: once a 500 (OverflowError)
    "1" + "0" * 30,
    "-" + "9" * 30,
    "1" * 5000,  # longer than Python's int-parsing limit
    "1e9", "0x10", "NaN", "",
])
def test_huge_or_odd_limit_is_an_answer_or_400(one_event: Server, limit: str) -> None:
    response = requests.get(f"{one_event.url}/api/0/buckets/b/events",
                            params={"limit": limit}, timeout=30)
    assert response.status_code in {200, 400}, response.text[:300]
    if response.status_code == 400:
        assert "limit" in response.json()["message"]


@pytest.mark.parametrize("pulsetime", [
    "1e30", "1e300",
    "1.7e308",  # * 1e6 overflowed to inf, round() raised: once a 500
    "inf", "-1", "nan",
])
def test_huge_pulsetime_is_an_answer_or_400(one_event: Server, pulsetime: str) -> None:
    response = requests.post(f"{one_event.url}/api/0/buckets/b/heartbeat",
                             params={"pulsetime": pulsetime}, timeout=30,
                             json={"timestamp": "2024-01-01T00:00:02Z", "data": {"title": "t"}})
    assert response.status_code in {200, 400}, response.text[:300]


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                   "-999999-01-01", "2024-13-45T99:99:99Z"])
def test_extreme_time_bounds_are_an_answer_or_400(one_event: Server, bound: str) -> None:
    for name in ("start", "end"):
        for path in ("/api/0/buckets/b/events", "/api/0/buckets/b/events/count"):
            response = requests.get(one_event.url + path, params={name: bound}, timeout=30)
            assert response.status_code in {200, 400}, (path, name, response.text[:300])


@pytest.mark.parametrize("length", ["5000000000", "9" * 30])
def test_declared_oversized_body_is_413_without_sending_it(one_event: Server,
                                                            length: str) -> None:
    """A client announcing gigabytes is refused from the headers alone: the server must
    not wait for (or buffer) the body. test_errors.py covers bodies really sent."""
    count_url = f"{one_event.url}/api/0/buckets/b/events/count"
    before = requests.get(count_url, timeout=30).json()
    with socket.create_connection(("127.0.0.1", one_event.port), timeout=30) as sock:
        sock.sendall(f"POST /api/0/buckets/b/events HTTP/1.1\r\nHost: 127.0.0.1:"
                     f"{one_event.port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {length}\r\n\r\n[".encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    assert requests.get(count_url, timeout=30).json() == before


# --------------------------------------------------------------------------- regex bombs

BOMB = "(a|aa)+$"
BOMB_TITLE = "a" * 40 + "!"


@pytest.fixture
def bomb_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A separate process, SIGKILLed at the end: if a regex runs away in it, it cannot
    keep a core busy for the rest of the test session."""
    proc = start_server_process(tmp_path)
    try:
        with HttpClient(proc.url) as client:
            client.create_bucket("w")
            response = client.post("/api/0/buckets/w/events", json=[
                {"timestamp": "2024-01-01T00:00:00Z", "duration": 10,
                 "data": {"app": "x", "title": BOMB_TITLE}}])
            assert response.status_code == 200
        yield proc
    finally:
        proc.stop(signal.SIGKILL)


def _post_query(proc: ServerProcess, statement: str) -> requests.Response:
    try:
        return requests.post(
            f"{proc.url}/api/0/query/",
            json={"timeperiods": ["2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"],
                  "query": ['events = query_bucket("w");', statement]},
            timeout=HANG_GUARD_S)
    except requests.Timeout:
        pytest.fail(f"the query hung (no answer within {HANG_GUARD_S:.0f} s): {statement}")


def _assert_refused_as_too_expensive(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    body = response.json()
    assert body["type"] == "QueryTooExpensive"
    assert "regular expression" in body["message"]


def test_regex_bomb_in_filter_keyvals_regex_is_stopped_over_http(
        bomb_server: ServerProcess) -> None:
    response = _post_query(bomb_server,
                           f'RETURN = filter_keyvals_regex(events, "title", "{BOMB}");')
    _assert_refused_as_too_expensive(response)
    assert requests.get(f"{bomb_server.url}/api/0/info", timeout=30).status_code == 200


@pytest.mark.parametrize("function", ["categorize", "tag"])
def test_regex_bomb_in_categorize_rules_is_stopped_over_http(
        bomb_server: ServerProcess, function: str) -> None:
    label = '["X"]' if function == "categorize" else '"X"'  # a category path / a tag
    rules = f'[[{label}, {{"type": "regex", "regex": "{BOMB}"}}]]'
    response = _post_query(bomb_server, f"RETURN = {function}(events, {rules});")
    _assert_refused_as_too_expensive(response)


# --------------------------------------------------------------------------- traversal


@pytest.fixture(scope="module")
def served_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The real command with `--webpath` and `--custom-static`, and a secret file beside
    (not inside) each served folder."""
    root = Path(tmp_path_factory.mktemp("traversal"))
    web, static = root / "web", root / "static"
    web.mkdir()
    static.mkdir()
    (web / "index.html").write_text("<html>custom web ui</html>")
    (static / "index.html").write_text("<html>my page</html>")
    (static / "hello.txt").write_text("hello")
    (root / "secret.txt").write_text(SECRET)
    proc = start_server_process(root / "server", "--webpath", str(web),
                                "--custom-static", f"mine={static}")
    yield proc
    proc.stop()


def _raw_get(port: int, path: str) -> tuple[int, str]:
    """A raw request line: a client library would normalise the dots away first."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{port}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_served_folders_are_really_served(served_folders: ServerProcess) -> None:
    """The positive control: without it the traversal test could pass on a 404 server."""
    assert _raw_get(served_folders.port, "/") == (200, "<html>custom web ui</html>")
    assert _raw_get(served_folders.port, "/pages/mine/hello.txt") == (200, "hello")
    assert _raw_get(served_folders.port, "/pages/mine/")[1] == "<html>my page</html>"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
    "/./../secret.txt", "/..%5csecret.txt", "/%252e%252e/secret.txt",
    "/pages/mine/../../secret.txt", "/pages/mine/%2e%2e/secret.txt",
    "/pages/mine/..%2fsecret.txt", "/pages/mine/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/pages/mine/..%5csecret.txt", "/pages/mine//etc/passwd", "/pages/mine/%2fetc%2fpasswd",
    "/pages/..%2fsecret.txt/x", "/pages/mine/hello.txt/../../secret.txt",
    "/pages/mine/%00../secret.txt",
])
def test_traversal_never_leaves_webpath_or_custom_static(served_folders: ServerProcess,
                                                         path: str) -> None:
    status, body = _raw_get(served_folders.port, path)
    assert status < 500, body[:300]
    assert SECRET not in body and "root:" not in body
    if status == 200:
        assert body in {"<html>custom web ui</html>", "<html>my page</html>", "hello"}
