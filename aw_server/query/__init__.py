"""query2, ActivityWatch's query language: parse once, run per time period.

`QueryService` is the entry point for the server: it parses, answers from its result
cache and runs the rest (in a worker process when given a `QueryPool`). `run_query` is
the same without a worker, for commands, tests and benchmarks. See docs/query.md for the
language, every function and where this implementation differs from ActivityWatch.

Modules: `lexer` and `parser` build the `ast`; `program` checks a request and parses it;
`interpreter` evaluates a tree with the `functions` under `limits`; `execute` runs a
tree over periods; `cache` keeps closed periods' results; `service` decides what comes
from the cache and what runs, and `pool` runs it in a worker process.
"""

from __future__ import annotations

from typing import Any

from aw_server.models import EventSource
from aw_server.query.cache import QueryCache
from aw_server.query.limits import DEFAULT_LIMITS, QueryLimits
from aw_server.query.program import parse_period
from aw_server.query.service import QueryService

__all__ = ["QueryCache", "QueryLimits", "QueryService", "describe_functions", "parse_period",
           "run_query"]


def run_query(
    program: list[str],
    timeperiods: list[str],
    source: EventSource,
    *,
    name: str | None = None,
    cache: QueryCache | None = None,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> list[Any]:
    """One JSON-ready result per time period, computed in this thread (no periods, no
    results: the program is not even parsed, as in both ActivityWatch servers)."""
    service = QueryService(source, cache=cache, limits=limits)
    return service.query(program, timeperiods, name=name)


def describe_functions() -> list[dict[str, str]]:
    """Every query function with its signature and one-line description, by name."""
    return QueryService.functions()
