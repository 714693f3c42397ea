"""Every error becomes one JSON shape, `{"message": ...}`, with its status chosen here.

Domain errors get their status from `statuses.py`; framework errors (unknown route,
wrong method, body too large) keep theirs; anything else is a bug: logged with its
traceback, answered with a 500 that reveals nothing of the internals.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from aw_server.errors import AWError, BucketExists
from aw_server.http.routing import json_response
from aw_server.http.statuses import status_of

logger = logging.getLogger(__name__)


def error_body(message: str, error_type: str | None = None) -> dict[str, str]:
    body = {"message": message}
    if error_type:
        body["type"] = error_type
    return body


def domain_error_response(exc: AWError) -> Response:
    if isinstance(exc, BucketExists):
        # A 304 carries no body; clients that keep the connection alive rely on it.
        return Response(status=304)
    status = status_of(exc)
    if status >= 500:
        logger.warning("%s: %s", exc.error_type, exc.message)
    return json_response(error_body(exc.message, exc.error_type), status)


def bug_response() -> Response:
    """Called inside an `except`: logs the traceback, reveals nothing of it."""
    logger.exception("unexpected error while handling a request")
    return json_response(
        error_body("internal server error; the server log has the details", "InternalError"),
        500,
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AWError)
    def domain_error(exc: AWError) -> Response:
        return domain_error_response(exc)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return json_response(
            error_body(f"the request body is larger than the {limit // (1024 * 1024)} MiB limit "
                       "(max_body_mb in aw-server.toml)", "PayloadTooLarge"),
            413,
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        return json_response(error_body(exc.description or exc.name, exc.name), status)

    @app.errorhandler(Exception)
    def bug(exc: Exception) -> Response:
        return bug_response()
