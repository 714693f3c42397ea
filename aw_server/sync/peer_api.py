"""The sync listener: its own Flask app and waitress server, serving only `/sync/v1/*`.

Separate from the main app (docs/sync.md §8): no static files, no `/api/0`, no CORS
headers, and any request that carries an `Origin` header is refused with 403 before
routing, since browsers send one on every cross-origin fetch or POST. All decisions are
made by `PeerEndpoint`; this module only moves bytes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from flask import Flask, Response, request
from waitress.server import create_server

from aw_server.sync.endpoint import PeerEndpoint
from aw_server.sync.protocol import MAX_BODY

logger = logging.getLogger(__name__)

RULES = ("/sync/v1/pair", "/sync/v1/pair/confirm", "/sync/v1/pull", "/sync/v1/push",
         "/sync/v1/unpair")


def create_peer_app(endpoint: PeerEndpoint) -> Flask:
    app = Flask("aw_server.sync", static_folder=None)
    app.url_map.strict_slashes = True
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.before_request
    def no_browsers() -> Response | None:
        if "Origin" in request.headers:
            return Response('{"error":"browser_origin"}', status=403,
                            mimetype="application/json")
        length = request.content_length
        if length is not None and length > MAX_BODY:
            return Response('{"error":"too_large"}', status=413, mimetype="application/json")
        return None

    def view() -> Response:
        body = request.stream.read(MAX_BODY + 1)
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.path + (f"?{request.query_string.decode('latin-1')}"
                               if request.query_string else "")
        answer = endpoint.handle(request.method, path, request.headers.get("Host", ""),
                                 headers, body, request.remote_addr or "")
        return Response(answer.body, status=answer.status, headers=answer.headers)

    for rule in RULES:
        app.add_url_rule(rule, endpoint=rule, view_func=view, methods=["POST"])

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_here(exc: Any) -> Response:
        return Response('{"error":"not_found"}', status=404, mimetype="application/json")

    @app.errorhandler(413)
    def too_large(exc: Any) -> Response:
        return Response('{"error":"too_large"}', status=413, mimetype="application/json")

    return app


class Listener:
    """waitress on the chosen interfaces; `bound` lists the bound (host, port) pairs."""

    def __init__(self, app: Flask, hosts: list[str], port: int) -> None:
        listen = " ".join(f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts)
        self._map: dict[int, Any] = {}
        self._server: Any = create_server(
            app, map=self._map, listen=listen, threads=4, connection_limit=100,
            max_request_body_size=MAX_BODY + 64 * 1024, asyncore_use_poll=True,
            channel_timeout=120, ident="aw-sync",
        )
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aw-sync-listener", daemon=True)

    @property
    def bound(self) -> list[tuple[str, int]]:
        server = self._server
        if hasattr(server, "effective_listen"):
            return [(str(h), int(p)) for h, p in server.effective_listen]
        return [(str(server.effective_host), int(server.effective_port))]

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._stopped.is_set():
                logger.exception("sync listener stopped unexpectedly")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish, close every socket."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        listeners = [c for c in list(self._map.values()) if hasattr(c, "effective_port")]
        for listener in listeners:
            listener.accepting = False
            with contextlib.suppress(OSError):
                listener.del_channel()
        self._server.task_dispatcher.shutdown(timeout=timeout)
        for channel in list(self._map.values()):
            with contextlib.suppress(OSError):
                channel.close()
        for listener in listeners:
            with contextlib.suppress(OSError):
                listener.close()
        self._map.clear()
        if self._thread.is_alive():
            self._thread.join(timeout)
