"""The watchers' HTTP transport: one kept-alive connection through `http.client`.

A watcher only ever sends small JSON requests to one plain-HTTP server (usually on
127.0.0.1), so the standard library suffices. `requests` would bring urllib3, the
charset detectors, idna and certifi into every watcher process: about 10 MB of RSS
each, for features a watcher never uses (redirects, proxies, TLS, cookies).
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


class TransportError(Exception):
    """The request got no HTTP answer: refused, timed out, or the connection broke."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not."""
        return json.loads(self.body)


class Connection:
    """Requests to `http://host:port`, reusing one connection while the server keeps it.

    `connect_timeout` bounds the TCP connect, `read_timeout` every read after it, as
    a watcher must notice a hung server without waiting forever. Not thread-safe: each
    thread that talks to the server holds its own.
    """

    def __init__(self, host: str, port: int, *, connect_timeout: float,
                 read_timeout: float, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.headers = dict(headers or {})
        self._conn: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        if self._conn is None:
            conn = http.client.HTTPConnection(self.host, self.port,
                                              timeout=self.connect_timeout)
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(self.read_timeout)
            self._conn = conn
        return self._conn

    def request(self, method: str, path: str, payload: Any = None,
                params: dict[str, str] | None = None) -> Reply:
        """One request; `payload` is sent as JSON. Raises TransportError without answer.

        A kept-alive connection the server closed meanwhile fails on first use; that
        request is tried once more on a fresh connection, which is safe here because
        every request a watcher makes is idempotent (a repeated heartbeat merges).
        """
        target = f"{path}?{urlencode(params)}" if params else path
        headers = dict(self.headers)
        body: bytes | None = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                conn = self._open()
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                    continue
                raise TransportError(f"{method} {path}: {exc or type(exc).__name__}") from exc
            if response.will_close:
                self.close()
            return Reply(response.status, data)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
