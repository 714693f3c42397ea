"""A long dashboard query must not stall the watchers: heartbeats sent while it runs are
acknowledged and stored before it answers.

Proved by ordering, never by timing: the query request is on the server (its bytes read
from the socket, checked in /proc/net/tcp) before the first heartbeat is sent, and the
assertion is that several heartbeats were acknowledged *and* read back before the query's
response arrived. The query is made slow by size, not by a sleep: 60k events with
distinct titles, so categorize's per-value memo never hits, matched against 40 rules.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client import HttpClient
from tests.support.servers import ServerProcess, start_server_process

EVENTS = 60_000
BATCH = 5_000
REQUIRED_BEFORE_ANSWER = 3
MAX_HEARTBEATS = 500


@pytest.fixture
def big_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `python -m aw_server` holding one bucket of EVENTS distinct-title events."""
    proc = start_server_process(tmp_path)
    try:
        with HttpClient(proc.url) as client:
            client.create_bucket("big")
            client.create_bucket("watcher")
            for first in range(0, EVENTS, BATCH):
                batch = [
                    {"timestamp": f"2024-01-{1 + i // 86_400 % 28:02d}T{i // 3600 % 24:02d}:"
                                  f"{i // 60 % 60:02d}:{i % 60:02d}Z",
                     "duration": 0.5, "data": {"app": f"app{i % 37}", "title": f"doc {i} - x"}}
                    for i in range(first, first + BATCH)
                ]
                response = client.post("/api/0/buckets/big/events", json=batch, timeout=120)
                assert response.status_code == 200, response.text[:300]
        yield proc
    finally:
        proc.stop()


def slow_query() -> list[str]:
    rules = [[[f"C{n}"], {"type": "regex", "regex": f"doc \\d*{n}\\d* - [a-z]+$|app{n}\\b"}]
             for n in range(40)]
    return [
        'events = query_bucket("big");',
        f"events = categorize(events, {json.dumps(rules)});",
        'RETURN = merge_events_by_keys(events, ["$category"]);',
    ]


def server_has_read(port: int, client_port: int) -> bool:
    """True once the server side of our connection has an empty receive queue, i.e. the
    server process has read the whole request. /proc/net/tcp lists `local rem ... tx:rx`
    with ports in hex; absent that file (not Linux) we cannot tell and say True."""
    found = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == port and remote_port == client_port:
                found = True
                if int(fields[4].split(":")[1], 16) == 0:
                    return True
    return not found and not Path("/proc/net/tcp").exists()


def test_heartbeats_are_stored_while_a_long_query_runs(big_server: ServerProcess) -> None:
    order: list[str] = []
    lock = threading.Lock()
    answered = threading.Event()
    result: dict[str, object] = {}

    query_conn = http.client.HTTPConnection("127.0.0.1", big_server.port, timeout=120)
    body = json.dumps({"timeperiods": ["2023-12-01T00:00:00Z/2024-02-01T00:00:00Z"],
                       "query": slow_query()})
    query_conn.request("POST", "/api/0/query/?name=slow", body=body,
                       headers={"Content-Type": "application/json"})
    client_port = query_conn.sock.getsockname()[1]
    for _ in range(10_000):  # bounded wait for the server to pick the request up
        if server_has_read(big_server.port, client_port):
            break
    else:
        pytest.fail("the server never read the query request")

    def wait_for_answer() -> None:
        response = query_conn.getresponse()
        with lock:
            order.append("query answered")
        result["status"] = response.status
        result["body"] = response.read()
        answered.set()

    reader = threading.Thread(target=wait_for_answer, daemon=True)
    reader.start()
    stored = 0
    with HttpClient(big_server.url) as client:
        for n in range(MAX_HEARTBEATS):
            if answered.is_set():
                break
            # Distinct data: each heartbeat starts a new event, so the count proves storage.
            response = client.post("/api/0/buckets/watcher/heartbeat?pulsetime=2", json={
                "timestamp": f"2024-02-01T00:00:{n % 60:02d}.{n // 60:03d}Z", "data": {"n": n}})
            assert response.status_code == 200, response.text
            count = client.get("/api/0/buckets/watcher/events/count").json()
            assert count == n + 1
            with lock:
                if not answered.is_set():
                    order.append(f"heartbeat {n} stored")
                    stored += 1
    reader.join(timeout=120)
    query_conn.close()
    assert answered.is_set(), "the query never answered"
    assert result["status"] == 200, result.get("body")
    assert order[-1] == "query answered"
    assert stored >= REQUIRED_BEFORE_ANSWER, (
        f"only {stored} heartbeats were stored while the query ran: {order[:10]}")
