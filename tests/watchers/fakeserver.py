"""A small real HTTP server speaking the slice of ActivityWatch's `/api/0` the watchers use.

Why it exists next to the real server: the queue tests need a server that fails on
command (500 N times, then 200; a 400 for one item) and that records every request it
accepted, which no production server offers. It runs in-thread (`FakeServer`) or as a
subprocess (`python -m tests.watchers.fakeserver --port P --state FILE`) that keeps its
buckets in a JSON file, so it can be stopped and restarted like the real one.

The heartbeat merge here is written independently of `watchers.heartbeat.merge`
(with datetimes, from ActivityWatch's rule: same data, and the heartbeat starts between
the last event's start and its end plus the pulsetime), so the client's
pre-merge is checked against a second implementation, not against itself.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


def _parse_ts(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Recorded:
    """One request the server saw: method, path, query, JSON body and the status it gave."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class State:
    """Buckets and events, optionally persisted to a JSON file after every change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.buckets: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.next_id = 1
        if path is not None and path.exists():
            raw = json.loads(path.read_text())
            self.buckets, self.events, self.next_id = raw["buckets"], raw["events"], raw["next_id"]

    def save(self) -> None:
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(
                {"buckets": self.buckets, "events": self.events, "next_id": self.next_id}))
            tmp.replace(self.path)

    def heartbeat(self, bucket: str, hb: dict[str, Any], pulsetime: float) -> dict[str, Any]:
        events = self.events[bucket]
        if events:
            last = events[-1]
            start = _parse_ts(last["timestamp"])
            end = start + timedelta(seconds=last["duration"])
            ts = _parse_ts(hb["timestamp"])
            if (last["data"] == hb["data"] and last["duration"] >= 0
                    and start <= ts <= end + timedelta(seconds=pulsetime)):
                new_end = max(end, ts + timedelta(seconds=float(hb.get("duration", 0))))
                last["duration"] = (new_end - start).total_seconds()
                return last
        event = {"id": self.next_id, "timestamp": _parse_ts(hb["timestamp"]).isoformat(),
                 "duration": float(hb.get("duration", 0)), "data": hb["data"]}
        self.next_id += 1
        events.append(event)
        return event


class FakeServer:
    """In-thread server on a free 127.0.0.1 port; `fail_next` and `refuse` inject errors."""

    def __init__(self, port: int = 0, state_path: Path | None = None,
                 api_key: str | None = None) -> None:
        self.state = State(state_path)
        self.requests: list[Recorded] = []
        self.api_key = api_key
        self._failures: list[int] = []
        self.refuse: Callable[[dict[str, Any]], int | None] | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` heartbeat POSTs with `status`."""
        with self.state.lock:
            self._failures.extend([status] * count)

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def heartbeats(self, status: int = 200) -> list[Recorded]:
        """Heartbeat requests answered with `status`, in arrival order."""
        with self.state.lock:
            return [r for r in self.requests
                    if r.path.endswith("/heartbeat") and r.status == status]

    def events(self, bucket: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(e) for e in self.state.events.get(bucket, [])]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle plus the
                # client's delayed ACK add 40 ms to every request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _reply(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with server.state.lock:
                    status, payload = server._dispatch(method, url.path, query, body, self.headers)
                    server.requests.append(Recorded(method, url.path, query, body, status,
                                                    dict(self.headers)))
                    if status < 300 and method == "POST":
                        server.state.save()
                self._reply(status, payload)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

        return Handler

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: Any,
                  headers: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["api", "0"]:
            return 404, {"message": "not found"}
        parts = parts[2:]
        if parts == ["info"]:
            return 200, {"hostname": "fake", "version": "fake", "testing": True}
        if self.api_key and headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"message": "missing or wrong API key"}
        state = self.state
        if method == "POST" and len(parts) == 2 and parts[0] == "buckets":
            if parts[1] in state.buckets:
                return 304, {"message": f"Bucket '{parts[1]}' already exists"}
            state.buckets[parts[1]] = {"id": parts[1], **(body or {})}
            state.events[parts[1]] = []
            return 200, {}
        if len(parts) == 3 and parts[0] == "buckets":
            bucket = parts[1]
            if bucket not in state.buckets:
                return 404, {"message": f"The requested bucket '{bucket}' does not exist"}
            if method == "GET" and parts[2] == "events":
                return 200, list(reversed(state.events[bucket]))
            if method != "POST" or parts[2] != "heartbeat":
                return 404, {"message": "not found"}
            if self._failures:
                return self._failures.pop(0), {"message": "injected failure"}
            if self.refuse is not None:
                refused = self.refuse(body)
                if refused is not None:
                    return refused, {"message": "refused by test"}
            if "pulsetime" not in query:
                return 400, {"message": "missing pulsetime"}
            return 200, state.heartbeat(bucket, body, float(query["pulsetime"][0]))
        return 404, {"message": "not found"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    server = FakeServer(args.port, args.state)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.stop).start())
    print(f"listening on {server.port}", flush=True)
    server.httpd.serve_forever()
    server.httpd.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
