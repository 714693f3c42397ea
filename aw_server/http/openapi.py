"""OpenAPI 3 document generated from the route table (schemathesis and the API browser read it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aw_server import __version__
from aw_server.http.routing import Route, openapi_path

_TIME = {"type": "string", "format": "date-time"}
_EVENT = {
    "type": "object",
    "required": ["timestamp"],
    "properties": {
        "id": {"type": ["integer", "null"]},
        "timestamp": _TIME,
        "duration": {"type": "number", "minimum": 0},
        "data": {"type": "object"},
    },
}
_BUCKET_FIELDS = {
    "id": {"type": "string"},
    "name": {"type": ["string", "null"]},
    "type": {"type": "string"},
    "client": {"type": "string"},
    "hostname": {"type": "string"},
    "created": _TIME,
    "data": {"type": "object"},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Event": _EVENT,
    "EventList": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
    "EventOrList": {"oneOf": [{"$ref": "#/components/schemas/Event"},
                              {"$ref": "#/components/schemas/EventList"}]},
    "Bucket": {"type": "object", "properties": {
        **_BUCKET_FIELDS,
        "last_updated": {"type": ["string", "null"]},
        "metadata": {"type": "object"},
    }},
    "BucketMap": {"type": "object",
                  "additionalProperties": {"$ref": "#/components/schemas/Bucket"}},
    "BucketCreate": {"type": "object", "required": ["type", "client", "hostname"],
                     "properties": _BUCKET_FIELDS},
    "BucketUpdate": {"type": "object", "properties": _BUCKET_FIELDS},
    "Export": {"type": "object", "required": ["buckets"], "properties": {
        "buckets": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            **_BUCKET_FIELDS, "events": {"$ref": "#/components/schemas/EventList"}}}}}},
    "ImportResult": {"type": "object"},
    "Info": {"type": "object", "properties": {
        "hostname": {"type": "string"}, "version": {"type": "string"},
        "testing": {"type": "boolean"}, "device_id": {"type": "string"}}},
    "Query": {"type": "object", "required": ["query", "timeperiods"], "properties": {
        "query": {"type": "array", "items": {"type": "string"}},
        "timeperiods": {"type": "array", "items": {"type": "string"},
                        "description": "ISO 8601 intervals, 'start/end'; none gives []"}}},
    "QueryResult": {"type": "array"},
    "FunctionList": {"type": "array", "items": {"type": "object"}},
    "Integer": {"type": "integer"},
    "Object": {"type": "object"},
    "Any": {},
    "Error": {"type": "object", "required": ["message"],
              "properties": {"message": {"type": "string"}, "type": {"type": "string"}}},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.tag}_{route.handler.__name__}",
        "parameters": [],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {
                "schema": _ref(route.response) if route.response else {}}}},
            "400": {"description": "bad input",
                    "content": {"application/json": {"schema": _ref("Error")}}},
        },
    }
    for part in route.rule.split("/"):
        if part.startswith("<"):
            converter, _, name = part[1:-1].rpartition(":")
            op["parameters"].append({
                "name": name, "in": "path", "required": True,
                "schema": {"type": "integer" if converter == "int" else "string"},
            })
    for param in route.params:
        schema: dict[str, Any] = {"type": param.type}
        if param.format:
            schema["format"] = param.format
        op["parameters"].append({"name": param.name, "in": "query", "required": param.required,
                                 "description": param.description, "schema": schema})
    if route.body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(route.body)}}}
    for status, description in route.statuses.items():
        op["responses"][str(status)] = {"description": description}
    return op


def build_spec(routes: Iterable[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(openapi_path(route.rule), {})
        for method in route.methods:
            item[method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ActivityWatch-compatible REST API", "version": __version__},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }
