"""The server aw-qt talks to: its own embedded one, or one that already runs.

On start aw-qt asks the port for `/api/0/info`. If an ActivityWatch-compatible server
answers, aw-qt uses it and never stops it (ActivityWatch #123). Otherwise it serves the
Flask app with waitress in a thread of its own process. If the port is held by
something that is not such a server, aw-qt says so and keeps supervising: the
watchers queue their heartbeats on disk until a server appears.
"""

from __future__ import annotations

import errno
import http.client
import json
import logging
import threading
from dataclasses import replace
from enum import Enum
from urllib.parse import urlsplit

from aw_server.api import ServerAPI
from aw_server.config import ServerConfig, load_config
from aw_server.serve import Server

logger = logging.getLogger(__name__)

PROBE_INTERVAL_S = 10.0


class ServerMode(Enum):
    EMBEDDED = "embedded"
    EXTERNAL = "external"
    UNAVAILABLE = "unavailable"


def probe(url: str, timeout: float = 1.0) -> bool:
    """True when an ActivityWatch-compatible server answers at `url`.

    Through `http.client`, which the embedded server's stack has loaded anyway:
    `requests` would add about 5 MB to the tray's process for this one request.
    """
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                      timeout=timeout)
    try:
        conn.request("GET", "/api/0/info")
        response = conn.getresponse()
        info = json.loads(response.read()) if response.status == 200 else None
        return isinstance(info, dict) and "hostname" in info
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        conn.close()


class ServerHandle:
    def __init__(self, mode: ServerMode, port: int, server: Server | None = None,
                 problem: str = "") -> None:
        self.mode = mode
        self.port = port
        self.server = server
        self.problem = problem
        self._reachable = mode is not ServerMode.UNAVAILABLE
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        if mode is not ServerMode.EMBEDDED:
            self._monitor = threading.Thread(target=self._watch, name="aw-qt-probe",
                                             daemon=True)
            self._monitor.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> ServerAPI | None:
        return self.server.api if self.server is not None else None

    def reachable(self) -> bool:
        if self.server is not None:
            thread = self.server._thread
            return thread is not None and thread.is_alive()
        return self._reachable

    def _watch(self) -> None:
        while not self._stop.wait(PROBE_INTERVAL_S):
            alive = probe(self.url)
            if alive != self._reachable:
                logger.info("server at %s is %s", self.url, "back" if alive else "unreachable")
            self._reachable = alive

    def stop(self) -> None:
        """Drain and close our own server; a server we found running is left alone."""
        self._stop.set()
        if self.server is not None:
            self.server.stop()


def embedded_config(*, testing: bool, port: int | None) -> ServerConfig:
    """The config the embedded server runs with: aw-server.toml's, on loopback, on
    `port` when given. Raises ValueError for an unreadable aw-server.toml."""
    config = load_config(testing=testing)
    return replace(config, host="127.0.0.1", port=config.port if port is None else port)


def local_url(config: ServerConfig) -> str:
    return f"http://127.0.0.1:{config.port}"


def start_server(*, testing: bool, port: int | None) -> ServerHandle:
    try:
        config = embedded_config(testing=testing, port=port)
    except ValueError as exc:  # an unreadable aw-server.toml: say which and why
        logger.error("%s", exc)
        return ServerHandle(ServerMode.UNAVAILABLE, port or 0, problem=str(exc))
    url = local_url(config)
    if probe(url):
        logger.info("a server already answers at %s; using it (aw-qt will not stop it)", url)
        return ServerHandle(ServerMode.EXTERNAL, config.port)
    try:
        server = Server(config)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            problem = (f"Port {config.port} on 127.0.0.1 is used by another program, which "
                       "is not an ActivityWatch server. Stop that program, or give the "
                       "server another port in aw-server.toml (and the watchers in "
                       "aw-client.toml), then restart ActivityWatch. Until then the "
                       "watchers keep their data queued on disk.")
        else:
            problem = f"The server could not start: {exc}"
        logger.error("%s", problem)
        return ServerHandle(ServerMode.UNAVAILABLE, config.port, problem=problem)
    except Exception as exc:  # a locked or corrupt database, a bad config, ...
        problem = f"The server could not start: {exc}"
        logger.exception("%s", problem)
        return ServerHandle(ServerMode.UNAVAILABLE, config.port, problem=problem)
    server.start_in_thread()
    return ServerHandle(ServerMode.EMBEDDED, server.port, server)
