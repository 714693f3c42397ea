"""The watchers' HTTP transport against a real HTTP server on a free loopback port."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest

from watchers.transport import Connection, TransportError, query_string


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a reply says otherwise
    server: Recording

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.client_address[1], json.loads(body)))
        self._reply(201, json.dumps({"ok": True}).encode())

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.client_address[1], None))
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"a": ', b"1}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/host":
            self._reply(200, self.headers.get("Host", "").encode())
        elif self.path == "/close":
            self._reply(404, b"gone", close=True)
        else:
            self._reply(200, self.headers.get("Authorization", "").encode())

    def _reply(self, status: int, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Recording(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str, int, object]] = []


@pytest.fixture
def server() -> Iterator[Recording]:
    srv = Recording()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(10)


def connect(srv: Recording, **headers: str) -> Connection:
    return Connection("127.0.0.1", srv.server_address[1], connect_timeout=3,
                      read_timeout=10, headers=headers)


def test_json_posts_reuse_one_connection(server: Recording) -> None:
    http = connect(server)
    replies = [http.request("POST", "/api/0/x", {"n": n}, {"pulsetime": "1.5"})
               for n in range(3)]
    http.close()
    assert [(r.status, r.json()) for r in replies] == [(201, {"ok": True})] * 3
    assert [(p, body) for p, _port, body in server.seen] == [
        ("/api/0/x?pulsetime=1.5", {"n": n}) for n in range(3)]
    assert len({port for _p, port, _b in server.seen}) == 1  # kept alive


def test_a_chunked_answer_and_extra_headers(server: Recording) -> None:
    http = connect(server, Authorization="Bearer k")
    assert http.request("GET", "/chunked").json() == {"a": 1}
    assert http.request("GET", "/auth").text == "Bearer k"
    http.close()


def test_a_host_given_by_name_is_resolved_and_named_in_the_host_header(
        server: Recording) -> None:
    port = server.server_address[1]
    http = Connection("localhost", port, connect_timeout=3, read_timeout=10)
    assert http.request("GET", "/host").text == f"localhost:{port}"
    http.close()


def test_a_connection_the_server_closed_is_replaced(server: Recording) -> None:
    http = connect(server)
    assert http.request("GET", "/close").status == 404
    assert http.request("GET", "/next").status == 200
    http.close()
    assert len({port for _p, port, _b in server.seen}) == 2


def test_no_server_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        http = Connection("127.0.0.1", port, connect_timeout=3, read_timeout=3)
        with pytest.raises(TransportError):
            http.request("GET", "/")


@pytest.mark.parametrize("params", [
    {"pulsetime": "1.5"},
    {"a b": "c&d=e", "x": "1/2?#%+"},
    {"title": "Grüße, 世界 ~ok_-.", "empty": ""},
])
def test_query_strings_are_encoded_as_urlencode_does(params: dict[str, str]) -> None:
    assert query_string(params) == urlencode(params)
