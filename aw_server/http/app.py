"""`create_app(config, api)`: the Flask application, built from parts and nothing global.

Building it only builds: no file is touched and the database is not written. What must
happen once before the first request (`start_app`) is the server's start to call.
"""

from __future__ import annotations

from flask import Flask

from aw_server.api import ServerAPI
from aw_server.config import ServerConfig
from aw_server.http import security
from aw_server.http.errors import register_error_handlers
from aw_server.http.fastpath import HeartbeatLane
from aw_server.http.pages import register_pages
from aw_server.http.routes import (
    buckets,
    devices,
    events,
    imports,
    query,
    settings,
    sync,
    transfer,
)
from aw_server.http.routing import Route, register_routes
from aw_server.http.upload_body import EXTENSION as UPLOADS
from aw_server.sync.loader import SyncLoader
from aw_server.transfer.upload_jobs import JobTable


def api_routes() -> list[Route]:
    return [*buckets.ROUTES, *events.ROUTES, *transfer.ROUTES, *imports.ROUTES, *query.ROUTES,
            *settings.ROUTES, *sync.ROUTES, *devices.ROUTES]


def create_app(config: ServerConfig, api: ServerAPI, *, port: int | None = None,
               sync: SyncLoader | None = None) -> Flask:
    """`port` is the port actually bound (it differs from config.port when that is 0);
    `serve.Server` updates it after binding. `sync` serves `/api/0/sync/*` (without it
    those routes answer 503)."""
    app = Flask("aw_server", static_folder=None)
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["aw_api"] = api
    if sync is not None:
        app.extensions["aw_sync"] = sync
    app.extensions[UPLOADS] = JobTable(api)
    policy = security.SecurityPolicy(config, port or config.port)
    security.install(app, policy)
    register_error_handlers(app)
    routes = api_routes()
    register_routes(app, routes)
    register_pages(app, routes, config.webpath, config.custom_static)
    app.wsgi_app = HeartbeatLane(app.wsgi_app, api, policy,  # type: ignore[method-assign]
                                 config.max_body_bytes)
    return app


def start_app(app: Flask) -> None:
    """Run by the server's start (`serve.Server.serve_forever`), before it accepts a
    request: the import uploads a stopped server left behind are removed, and the
    imports they fed are taken back (`JobTable.recover`)."""
    table: JobTable = app.extensions[UPLOADS]
    table.recover()
