"""Who may talk to the server: Host check (DNS rebinding), Origin/CORS, optional API key.

Runs before every request, static pages included. A web page on another site can make a
browser send requests to 127.0.0.1; the Host check stops pages reached through a rebound
DNS name, the Origin check stops cross-site pages outright (not merely hiding the answer,
as CORS alone would: a refused request writes nothing).
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass, field

from flask import Flask, Response, request

from aw_server.config import ServerConfig, is_loopback_host
from aw_server.http.routing import json_response

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
# aw-watcher-web's Chrome extension, and any Firefox extension (their ids are per-install).
EXTENSION_ORIGINS = (
    re.compile(r"chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi"),
    re.compile(r"moz-extension://[0-9a-fA-F-]+"),
)
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
# Browser extensions may read and write activity (aw-watcher-web does), but never reach
# device sync: pairing, unpairing or reading keys is for the user's own pages and tray.
EXTENSION_SCHEME = re.compile(r"[a-z-]+-extension://", re.IGNORECASE)
SYNC_PREFIX = "/api/0/sync"


def split_host(value: str) -> tuple[str, int | None]:
    """`host[:port]`, with IPv6 literals in brackets; port None when absent or invalid."""
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[: end + 1], value[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = value.partition(":")
    if not port_text:
        return host.lower(), None
    return host.lower(), int(port_text) if port_text.isdigit() else -1


@dataclass
class SecurityPolicy:
    config: ServerConfig
    port: int
    extra_hosts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        host = self.config.host
        self.check_host = is_loopback_host(host) or host not in ("0.0.0.0", "::", "")
        if not self.check_host:
            logger.warning("listening on all interfaces: the Host header check is off")
        names = set(LOOPBACK_HOSTS)
        if not is_loopback_host(host):
            names.add(host.lower())
        self.extra_hosts = frozenset(names)

    def allowed_origins(self) -> set[str]:
        origins = {f"http://{h}:{self.port}" for h in ("localhost", "127.0.0.1", "[::1]")}
        if self.config.testing:  # ActivityWatch's web UI development server
            origins |= {"http://127.0.0.1:27180", "http://localhost:27180"}
        return origins | set(self.config.cors_origins)

    def origin_allowed(self, origin: str) -> bool:
        if origin in self.allowed_origins():
            return True
        return any(p.fullmatch(origin) for p in EXTENSION_ORIGINS)

    def host_problem(self, header: str | None) -> str | None:
        if not self.check_host:
            return None
        if not header:
            return "host header is missing"
        host, port = split_host(header)
        if host not in self.extra_hosts:
            return f"host header is invalid (was {header!r})"
        # A loopback name alone is what a client behind a local proxy on port 80 sends;
        # ActivityWatch accepts it too. Other names must carry this server's port.
        if port is None and host not in LOOPBACK_HOSTS and self.port != 80:
            return f"host header has no port (was {header!r})"
        if port is not None and port != self.port:
            return f"host header names another port (was {header!r})"
        return None

    def key_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        given = authorization[len("Bearer ") :].strip().encode()
        return hmac.compare_digest(given, self.config.api_key.encode())

    def refusal(self, *, method: str, path: str, host: str | None, origin: str | None,
                authorization: str | None) -> Refusal | None:
        """Why this request may not go on, or None; shared by Flask and the fast lane."""
        problem = self.host_problem(host)
        if problem is not None:
            return Refusal(400, problem)
        if origin is not None and not self.origin_allowed(origin):
            return Refusal(403, f"requests from origin {origin!r} are not allowed; if you "
                                "trust it, add it to cors_origins in aw-server.toml")
        if origin is not None and path.startswith(SYNC_PREFIX) \
                and EXTENSION_SCHEME.match(origin):
            return Refusal(403, "browser extensions may not use device sync (/api/0/sync)")
        if (method != "OPTIONS" and self.config.api_key and path.startswith("/api/")
                and path != "/api/0/info" and not self.key_ok(authorization)):
            return Refusal(401, "this server requires an API key: send 'Authorization: "
                                "Bearer <api_key>' (see [auth] in aw-server.toml)",
                           {"WWW-Authenticate": "Bearer"})
        return None


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    headers: dict[str, str] | None = None


def install(app: Flask, policy: SecurityPolicy) -> None:
    app.extensions["aw_security"] = policy

    @app.before_request
    def guard() -> Response | None:
        refusal = policy.refusal(
            method=request.method, path=request.path, host=request.headers.get("Host"),
            origin=request.headers.get("Origin"),
            authorization=request.headers.get("Authorization"))
        if refusal is not None:
            return json_response({"message": refusal.message}, refusal.status, refusal.headers)
        if request.method == "OPTIONS":
            return Response(status=204)
        return None

    @app.after_request
    def cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is not None and policy.origin_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                asked = request.headers.get("Access-Control-Request-Headers")
                response.headers["Access-Control-Allow-Headers"] = (
                    asked or "Content-Type, Authorization"
                )
                response.headers["Access-Control-Max-Age"] = "600"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
