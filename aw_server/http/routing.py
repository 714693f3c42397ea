"""The route table: one declaration per endpoint, used both to register Flask views and to
generate the OpenAPI document, so the two can never disagree."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, request

from aw_server.api import ServerAPI
from aw_server.errors import BadRequest, UnsupportedMediaType
from aw_server.models import parse_timestamp


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # OpenAPI primitive: "string", "integer", "number", "boolean"
    description: str
    required: bool = False
    format: str | None = None


@dataclass(frozen=True)
class Route:
    rule: str
    methods: tuple[str, ...]
    handler: Callable[..., Response]
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: str | None = None  # name of a schema in openapi.SCHEMAS
    response: str | None = None  # schema of the 200 answer
    statuses: dict[int, str] = field(default_factory=dict)


def api() -> ServerAPI:
    return current_app.extensions["aw_api"]


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(value, ensure_ascii=False)
    return Response(text, status=status, mimetype="application/json", headers=headers)


def streamed_json(chunks: Iterable[str], headers: dict[str, str] | None = None) -> Response:
    def encoded() -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk.encode("utf-8", "surrogatepass")

    return Response(encoded(), status=200, mimetype="application/json", headers=headers)


def json_list_response(items: Iterable[str]) -> Response:
    """A JSON array from already-encoded items, built in one piece (fast for big lists)."""
    return Response("[" + ", ".join(items) + "]", status=200, mimetype="application/json")


_JSON_TYPES = ("application/json", "application/x-json", "text/json")


def require_json_type() -> None:
    """A missing content type is tolerated (old scripts send none), another than JSON is
    refused with 415 so browsers cannot post the body without a preflight."""
    mimetype = request.mimetype
    if mimetype and mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"expected a JSON body (Content-Type: application/json), got '{mimetype}'"
        )


def json_body() -> Any:
    """The request's JSON (see `require_json_type`)."""
    require_json_type()
    raw = request.get_data(cache=False)
    if not raw:
        raise BadRequest("the request body is empty; send JSON")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text") from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def json_object_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer, got {raw!r}", param=name) from None


def float_arg(name: str, *, required: bool = False) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise BadRequest(f"missing required query parameter '{name}'", param=name)
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a number, got {raw!r}", param=name) from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"'{name}' must be a finite, non-negative number", param=name)
    return value


def time_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return parse_timestamp(raw, name)


def flag_arg(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


def register_routes(app: Flask, routes: Iterable[Route]) -> None:
    for route in routes:
        endpoint = f"{route.tag}.{route.handler.__name__}"
        app.add_url_rule(route.rule, endpoint=endpoint, view_func=route.handler,
                         methods=list(route.methods))


def openapi_path(rule: str) -> str:
    """Flask's `/x/<string:id>` as OpenAPI's `/x/{id}`."""
    out = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            part = "{" + part[1:-1].split(":")[-1] + "}"
        out.append(part)
    return "/".join(out)
