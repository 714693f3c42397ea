"""The heartbeat lane: `POST /api/0/buckets/<id>/heartbeat` answered straight from WSGI.

Watchers send a heartbeat every second or two, all day long, and that one request is most
of what the server ever does. Flask's machinery around it (request context, URL map
binding, the Response object, hooks) costs more than the heartbeat's own work, so the
plain case is taken here: a valid Host, no Origin header, the API key if one is set, a
JSON (or untyped) body of known length, a numeric `pulsetime`. Anything else, including
every malformed request, goes on to the Flask app, which answers it as it answers any
request; errors raised by the heartbeat itself are rendered by the same functions the
Flask error handlers use. So there is one definition of every check and every error.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aw_server.errors import AWError
from aw_server.http.errors import bug_response, domain_error_response
from aw_server.http.security import SecurityPolicy

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from aw_server.api import ServerAPI

HEARTBEAT_PATH = re.compile(r"/api/0/buckets/([^/]+)/heartbeat")
JSON_TYPES = frozenset({"", "application/json", "application/x-json", "text/json"})
RESPONSE_HEADERS = (("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"))


class HeartbeatLane:
    """WSGI middleware in front of the Flask app (`app.wsgi_app = HeartbeatLane(...)`)."""

    def __init__(self, app: WSGIApplication, api: ServerAPI, policy: SecurityPolicy,
                 max_body_bytes: int) -> None:
        self.app = app
        self.api = api
        self.policy = policy
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        match = HEARTBEAT_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or not self._plain(environ):
            return self.app(environ, start_response)
        pulsetime = _pulsetime(environ.get("QUERY_STRING", ""))
        bucket_id = _wsgi_text(match.group(1))
        length = _content_length(environ)
        if pulsetime is None or bucket_id is None or not 0 < length <= self.max_body_bytes:
            return self.app(environ, start_response)
        raw = environ["wsgi.input"].read(length)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # Flask names the problem
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.app(environ, start_response)
        return self._answer(environ, start_response, lambda: self._beat(bucket_id, body, pulsetime))

    def _plain(self, environ: WSGIEnvironment) -> bool:
        if "HTTP_ORIGIN" in environ:  # browsers: CORS headers and Origin policy in Flask
            return False
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if mimetype not in JSON_TYPES:
            return False
        refusal = self.policy.refusal(
            method="POST", path=environ.get("PATH_INFO", ""), host=environ.get("HTTP_HOST"),
            origin=None, authorization=environ.get("HTTP_AUTHORIZATION"))
        return refusal is None

    def _beat(self, bucket_id: str, body: Any, pulsetime: float) -> bytes:
        event = self.api.heartbeat(bucket_id, body, pulsetime)
        return json.dumps(event.to_json(), ensure_ascii=False).encode("utf-8", "surrogatepass")

    def _answer(self, environ: WSGIEnvironment, start_response: StartResponse,
                work: Callable[[], bytes]) -> Iterable[bytes]:
        try:
            payload = work()
        except AWError as exc:
            error = domain_error_response(exc)
        except Exception:
            error = bug_response()
        else:
            start_response("200 OK", [*RESPONSE_HEADERS, ("Content-Length", str(len(payload)))])
            return [payload]
        error.headers.setdefault("X-Content-Type-Options", "nosniff")
        return error(environ, start_response)


def _pulsetime(query: str) -> float | None:
    """`pulsetime` as Flask's `float_arg` would accept it, else None (Flask explains)."""
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name == "pulsetime":
            try:
                value = float(raw)
            except ValueError:
                return None
            return value if math.isfinite(value) and value >= 0 else None
    return None


def _wsgi_text(value: str) -> str | None:
    """PATH_INFO carries bytes as latin-1 (PEP 3333); Werkzeug reads them as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


def _content_length(environ: WSGIEnvironment) -> int:
    raw = environ.get("CONTENT_LENGTH", "")
    return int(raw) if raw.isdigit() else 0
