"""`POST /api/0/query/`: run a query2 program over one or more time periods."""

from __future__ import annotations

from flask import Response, request

from aw_server.errors import BadRequest
from aw_server.http.routing import Param, Route, api, json_object_body, json_response


def _string_list(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{name}' must be a list of strings", param=name)
    return value


def query() -> Response:
    body = json_object_body()
    for key in ("query", "timeperiods"):
        if key not in body:
            raise BadRequest(f"missing required field '{key}'", param=key)
    program = _string_list(body["query"], "query")
    periods = _string_list(body["timeperiods"], "timeperiods")
    return json_response(api().query(program, periods, name=request.args.get("name")))


def functions() -> Response:
    return json_response(api().query_functions())


ROUTES = [
    Route("/api/0/query/", ("POST",), query,
          "Run a query2 program; one result per time period", "query",
          params=(Param("name", "string", "a name for the query (accepted for compatibility)"),),
          body="Query", response="QueryResult",
          statuses={400: "the program has an error (line and column in the message)",
                    503: "the query exceeded its time or memory budget"}),
    Route("/api/0/query/functions", ("GET",), functions,
          "Every query function with its signature and a description", "query",
          response="FunctionList"),
]
