"""Long-running service hygiene: many idle connections, and no leaks over many requests."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import psutil

from aw_server.serve import Server
from tests.support.client import HttpClient


def test_stays_responsive_with_100_idle_keepalive_connections(server: Server) -> None:
    idle: list[socket.socket] = []
    try:
        for _ in range(100):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            # A complete request, then silence: the connection stays open (keep-alive).
            sock.sendall(f"GET /api/0/info HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n"
                         .encode())
            idle.append(sock)
        for sock in idle:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with HttpClient(server.url) as http:
            http.create_bucket("b")
            for i in range(20):
                response = http.post("/api/0/buckets/b/heartbeat?pulsetime=5", json={
                    "timestamp": f"2024-01-01T00:00:{i:02d}Z", "data": {}})
                assert response.status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_no_fd_or_thread_leak_over_10k_requests(server: Server) -> None:
    me = psutil.Process()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Content-Type": "application/json"}

    def call(method: str, path: str, body: object = None) -> int:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status

    assert call("POST", "/api/0/buckets/b", {"client": "c", "type": "t", "hostname": "h"}) == 200
    for i in range(200):  # warm-up: every worker thread opens its database connection
        call("POST", "/api/0/buckets/b/heartbeat?pulsetime=1",
             {"timestamp": f"2020-01-01T00:00:{i % 60:02d}Z", "data": {"w": i}})
    fds, threads = me.num_fds(), threading.active_count()
    statuses = set()
    for i in range(10_000):
        kind = i % 4
        if kind == 0:
            statuses.add(call("POST", "/api/0/buckets/b/heartbeat?pulsetime=1",
                              {"timestamp": f"2024-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                                            f"{i % 60:02d}Z", "data": {"n": i // 100}}))
        elif kind == 1:
            statuses.add(call("GET", "/api/0/buckets/b/events?limit=5"))
        elif kind == 2:
            statuses.add(call("GET", "/api/0/buckets/nope"))  # an error path too
        else:
            statuses.add(call("POST", "/api/0/buckets/b/events", "not an event"))
        if i % 1000 == 999:  # new connections as well as reused ones
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.close()
    assert statuses == {200, 404, 400}
    assert me.num_fds() <= fds + 2
    assert threading.active_count() == threads
