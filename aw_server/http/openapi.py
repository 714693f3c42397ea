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

_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_DEVICE = {  # aw_server/devices.py; docs/api.md, "Devices"
    "type": "object",
    "required": ["device_id", "label", "hostname", "hostnames", "is_this_device", "state",
                 "buckets", "purged", "first_event", "last_event", "last_sync", "clock_skew",
                 "skew_warning", "revoked"],
    "properties": {
        "device_id": {"type": "string"},
        "label": {"type": "string"},
        "hostname": {"type": "string"},
        "hostnames": {**_STRINGS, "description": "hostnames on its buckets, in their order"},
        "is_this_device": {"type": "boolean"},
        "state": {"enum": ["this_device", "paired", "relayed", "unpaired", "removed",
                           "revoked"]},
        "buckets": {**_STRINGS, "description": "ids of its buckets here, creation order"},
        "purged": {"type": "boolean",
                   "description": "its mirrors were deleted here (unpair with purge)"},
        "first_event": _MAYBE_TIME,
        "last_event": _MAYBE_TIME,
        "last_sync": _MAYBE_TIME,
        "clock_skew": {"type": ["number", "null"],
                       "description": "seconds its clock is off, as sync measured it"},
        "skew_warning": {"type": "boolean"},
        "revoked": {"type": ["object", "null"], "properties": {
            "by": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}},
    },
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
    "Device": _DEVICE,
    "DeviceList": {"type": "array", "items": {"$ref": "#/components/schemas/Device"}},
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
