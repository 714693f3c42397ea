"""query2, ActivityWatch's query language: parse once, run per time period.

`run_query` is the single entry point for the HTTP layer; see docs/query.md for the
language, every function and where this implementation differs from ActivityWatch.
"""

from __future__ import annotations

import time
from typing import Any

from aw_server.errors import AWError, QueryError, QueryTooExpensive
from aw_server.gc_pause import gc_paused
from aw_server.models import (
    US_PER_S,
    ColumnarEvents,
    Event,
    EventSource,
    format_us,
    parse_timestamp,
)
from aw_server.query.ast import Program
from aw_server.query.cache import QueryCache
from aw_server.query.functions import FUNCTIONS, CallContext
from aw_server.query.interpreter import Interpreter
from aw_server.query.limits import DEFAULT_LIMITS, Budget, QueryLimits
from aw_server.query.parser import parse

__all__ = ["QueryCache", "QueryLimits", "cached_results", "describe_functions", "parse_period",
           "run_query"]


def parse_period(period: Any) -> tuple[int, int]:
    """"start/end" in ISO 8601 -> (start_us, end_us)."""
    if not isinstance(period, str):
        raise QueryError(f"a time period must be a string 'start/end', got {period!r}")
    parts = period.split("/")
    if len(parts) != 2:
        raise QueryError(f"a time period must look like 'start/end', got {period!r}")
    try:
        start_us = parse_timestamp(parts[0], "timeperiods")
        end_us = parse_timestamp(parts[1], "timeperiods")
    except AWError as exc:
        raise QueryError(f"invalid time period {period!r}: {exc.message}") from None
    if end_us < start_us:
        raise QueryError(f"time period {period!r} ends before it starts")
    return start_us, end_us


def to_json_value(value: Any) -> Any:
    """Events become their wire JSON; containers are rebuilt, scalars pass through."""
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    if isinstance(value, Event | ColumnarEvents):
        return value.to_json()
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    return value


def _program_text(program: Any) -> str:
    if isinstance(program, str):
        return program
    if not isinstance(program, list) or not all(isinstance(line, str) for line in program):
        raise QueryError("the query must be a list of strings")
    # Joined with "\n" (aw-server-rust) rather than "" (aw-server): line numbers in errors
    # then match the request's lines, and statements that aw-server accepts still parse
    # because a newline is only whitespace between tokens.
    return "\n".join(program)


def run_query(
    program: list[str],
    timeperiods: list[str],
    source: EventSource,
    *,
    name: str | None = None,
    cache: QueryCache | None = None,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> list[Any]:
    """One JSON-ready result per time period (events already converted with to_json,
    sum_durations as float seconds). No periods, no results: the program is not even
    parsed, as in both ActivityWatch servers."""
    text = _program_text(program)
    if not isinstance(timeperiods, list):
        raise QueryError("'timeperiods' must be a list of 'start/end' strings")
    if not timeperiods:
        return []
    if not text.strip():
        raise QueryError("the query is empty")
    tree = parse(text)
    periods = [parse_period(period) for period in timeperiods]
    with gc_paused():
        return _run_periods(text, tree, periods, source, name, cache, Budget(limits))


def cached_results(
    program: list[str],
    timeperiods: list[str],
    source: EventSource,
    cache: QueryCache,
    *,
    name: str | None = None,
) -> list[Any] | None:
    """Every period's result from the cache (none for no periods), or None if any is
    missing (or the request is malformed: `run_query` then names the problem)."""
    try:
        text = _program_text(program)
        if not isinstance(timeperiods, list):
            return None
        periods = [parse_period(period) for period in timeperiods]
    except QueryError:
        return None
    now_us = int(time.time() * US_PER_S)
    results = []
    for start_us, end_us in periods:
        if end_us >= now_us:
            return None
        hit, cached = cache.get((text, start_us, end_us, name or ""), source)
        if not hit:
            return None
        results.append(cached)
    return results


def _run_periods(
    text: str,
    tree: Program,
    periods: list[tuple[int, int]],
    source: EventSource,
    name: str | None,
    cache: QueryCache | None,
    budget: Budget,
) -> list[Any]:
    now_us = int(time.time() * US_PER_S)
    results: list[Any] = []
    for start_us, end_us in periods:
        key = (text, start_us, end_us, name or "")
        cacheable = cache is not None and end_us < now_us
        if cache is not None and cacheable:
            hit, cached = cache.get(key, source)
            if hit:
                results.append(cached)
                continue
        start_iso, end_iso = format_us(start_us), format_us(end_us)
        variables = {
            "TIMEINTERVAL": f"{start_iso}/{end_iso}",
            "NAME": name or "",
            "STARTTIME": start_iso,
            "ENDTIME": end_iso,
        }
        ctx = CallContext(source, start_us, end_us, budget)
        try:
            result = to_json_value(Interpreter(ctx, variables).run(tree))
        except TimeoutError:
            raise QueryTooExpensive(
                "a regular expression took more than a second on one value; simplify the "
                "rule (nested repetition such as '(a|aa)+' is the usual cause)"
            ) from None
        except RecursionError:
            # The parser bounds the nesting of the program, but statements like
            # `a = [a];` repeated can still build a value nested thousands deep.
            raise QueryError("the query builds values nested too deeply") from None
        if cache is not None and cacheable:
            cache.put(key, ctx.bucket_markers, ctx.bucket_list, result)
        results.append(result)
    return results


def describe_functions() -> list[dict[str, str]]:
    """Every query function with its signature and one-line description, by name."""
    return [
        {"name": f.name, "signature": f.signature, "description": f.description}
        for f in sorted(FUNCTIONS.values(), key=lambda f: f.name)
    ]
