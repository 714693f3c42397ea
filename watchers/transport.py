"""The watchers' HTTP transport: one kept-alive connection, spoken with h11.

A watcher only ever sends small JSON requests to one plain-HTTP server (usually on
127.0.0.1). `requests` would bring urllib3, the charset detectors, idna and certifi
into every watcher process, and even the standard library's `http.client` loads `ssl`
and the `email` parser on import: about 10 MB and 5.5 MB of RSS per watcher for TLS,
proxies, redirects and cookies a watcher never uses. h11 is only the HTTP/1.1 protocol
(framing, chunked bodies, keep-alive rules) on top of a plain socket: well under 1 MB.
"""

from __future__ import annotations

import json
import socket
import string
from dataclasses import dataclass
from typing import Any

import h11

RECEIVE_BYTES = 65536
# What a query string carries as is; everything else is percent-encoded (RFC 3986).
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


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
        self._sock: socket.socket | None = None
        self._http: h11.Connection | None = None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def request(self, method: str, path: str, payload: Any = None,
                params: dict[str, str] | None = None) -> Reply:
        """One request; `payload` is sent as JSON. Raises TransportError without answer.

        A kept-alive connection the server closed meanwhile fails on first use; that
        request is tried once more on a fresh connection, which is safe here because
        every request a watcher makes is idempotent (a repeated heartbeat merges).
        """
        target = f"{path}?{query_string(params)}" if params else path
        headers = [("Host", self.host_header), *self.headers.items()]
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers += [("Content-Type", "application/json"),
                        ("Content-Length", str(len(body)))]
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                return self._exchange(method, target, headers, body)
            except (OSError, h11.ProtocolError) as exc:
                self.close()
                if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                    continue
                raise TransportError(f"{method} {path}: {exc or type(exc).__name__}") from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _open(self) -> tuple[socket.socket, h11.Connection]:
        if self._sock is None or self._http is None:
            # It hands the host to getaddrinfo, which takes bytes; typeshed says str only.
            address = (_resolvable(self.host), self.port)
            sock = socket.create_connection(address, self.connect_timeout)  # type: ignore[arg-type]
            sock.settimeout(self.read_timeout)
            self._sock, self._http = sock, h11.Connection(h11.CLIENT)
        return self._sock, self._http

    def _exchange(self, method: str, target: str, headers: list[tuple[str, str]],
                  body: bytes) -> Reply:
        sock, http = self._open()
        out = http.send(h11.Request(method=method, target=target, headers=headers)) or b""
        if body:
            out += http.send(h11.Data(data=body)) or b""
        out += http.send(h11.EndOfMessage()) or b""
        sock.sendall(out)
        status: int | None = None
        chunks: list[bytes] = []
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(sock.recv(RECEIVE_BYTES))  # b"" tells h11 it closed
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection without an answer")
            # an InformationalResponse (100 Continue) is followed by the real one
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()  # keep-alive: the next request reuses the socket
        else:
            self.close()
        assert status is not None  # h11 yields the Response before any body
        return Reply(status, b"".join(chunks))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._http = None


def _resolvable(host: str) -> str | bytes:
    """The host as `getaddrinfo` wants it, without loading the IDNA codec when it can.

    Given a str, `getaddrinfo` encodes it with the "idna" codec, which imports
    `unicodedata` and `stringprep` (0.35 MB kept for the process's life) even for
    "127.0.0.1". An ASCII name or address means the same as bytes; only a name with
    other letters needs the codec.
    """
    return host.encode("ascii") if host.isascii() else host


def query_string(params: dict[str, str]) -> str:
    """What `urllib.parse.urlencode` makes of str keys and values (a space becomes "+").

    urllib.parse imports `ipaddress`; with pathlib gone it was the only reason the
    watchers loaded either (0.35 MB) for one `?pulsetime=` per heartbeat.
    """
    return "&".join(f"{_quote(key)}={_quote(value)}" for key, value in params.items())


def _quote(text: str) -> str:
    return "".join(
        char if char in _UNRESERVED else "+" if char == " "
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in text)
