"""Run a parsed program over time periods: the part that costs, wherever it runs.

The query service calls this in its own thread when it has no worker, and the worker
process calls it for the service otherwise; both get the same results and errors. Each
period's answer carries what it read (bucket change markers, the bucket list) so the
service can decide whether to cache it and later whether the entry is still valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aw_server.errors import QueryError, QueryTooExpensive
from aw_server.gc_pause import gc_paused
from aw_server.models import BucketInfo, ColumnarEvents, Event, EventSource, format_us
from aw_server.query.ast import Program
from aw_server.query.functions import CallContext
from aw_server.query.interpreter import Interpreter
from aw_server.query.limits import Budget, QueryLimits
from aw_server.query.program import Period


@dataclass(frozen=True, slots=True)
class PeriodResult:
    """One period's JSON-ready result and what it read."""

    result: Any
    markers: dict[str, int]
    bucket_list: tuple[BucketInfo, ...] | None


def to_json_value(value: Any) -> Any:
    """Events become their wire JSON; containers are rebuilt, scalars pass through."""
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    if isinstance(value, Event | ColumnarEvents):
        return value.to_json()
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    return value


def execute(tree: Program, periods: Sequence[Period], source: EventSource,
            name: str | None, limits: QueryLimits) -> list[PeriodResult]:
    """Every period's result, in order, under one budget shared by all of them."""
    budget = Budget(limits)
    with gc_paused():
        return [_run_period(tree, period, source, name, budget) for period in periods]


def _run_period(tree: Program, period: Period, source: EventSource, name: str | None,
                budget: Budget) -> PeriodResult:
    start_us, end_us = period
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
    return PeriodResult(result, ctx.bucket_markers, ctx.bucket_list)
