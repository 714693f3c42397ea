"""Every query2 function, registered with its typed parameters and description.

The machinery (argument types, `QueryFunction`, `register`, `CallContext`) is in
`registry.py`; importing this module fills `FUNCTIONS`, which is why the interpreter and
the query service take `FUNCTIONS` from here.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from aw_server import transform
from aw_server.errors import NoSuchBucket, QueryError
from aw_server.models import US_PER_S, ColumnarEvents, Event
from aw_server.query.registry import (
    ANY,
    EVENTS,
    FUNCTIONS,
    INT,
    LIST,
    LIST_OR_DICT,
    NUMBER,
    STRING,
    CallContext,
    Param,
    QueryFunction,
    as_list,
    as_table,
    columnar_engine,
    register,
    type_name,
)

__all__ = ["FUNCTIONS", "CallContext", "QueryFunction", "as_list", "type_name"]

logger = logging.getLogger(__name__)


def _compile_classes(classes: list[Any], what: str) -> list[tuple[Any, transform.Rule]]:
    """Validate `[[label, rule_dict], ...]` and compile every rule once for this call."""
    compiled = []
    for index, entry in enumerate(classes):
        if not isinstance(entry, list) or len(entry) != 2:
            raise QueryError(f"{what} entry {index + 1} must be a pair [label, rule]")
        label, spec = entry
        if what == "categorize":
            if not isinstance(label, list) or not all(isinstance(p, str) for p in label):
                raise QueryError(f"category {index + 1} must be a list of strings")
        elif not isinstance(label, str):
            raise QueryError(f"tag {index + 1} must be a string")
        try:
            compiled.append((label, transform.compile_rule(spec)))
        except transform.RuleError as exc:
            raise QueryError(f"rule {index + 1} of {what}: {exc}") from None
    return compiled


# Buckets


@register("query_bucket", [Param("bucket_id", STRING)], "events",
          "Events of a bucket in the current time period, newest first, clipped to it.",
          uses_context=True)
def _query_bucket(ctx: CallContext, bucket_id: str) -> Any:
    ctx.mark_read(bucket_id)
    read_table = getattr(ctx.source, "event_table", None)
    try:
        count = ctx.source.eventcount(bucket_id, ctx.start_us, ctx.end_us)
        ctx.budget.charge_events(count)
        if read_table is not None:
            events = read_table(bucket_id, ctx.start_us, ctx.end_us, rows_hint=count)
        else:
            events = ctx.source.events(bucket_id, ctx.start_us, ctx.end_us)
    except NoSuchBucket:
        raise QueryError(f"there is no bucket named '{bucket_id}'") from None
    return events


@register("query_bucket_eventcount", [Param("bucket_id", STRING)], "integer",
          "Number of events of a bucket in the current time period.", uses_context=True)
def _query_bucket_eventcount(ctx: CallContext, bucket_id: str) -> int:
    ctx.mark_read(bucket_id)
    try:
        return ctx.source.eventcount(bucket_id, ctx.start_us, ctx.end_us)
    except NoSuchBucket:
        raise QueryError(f"there is no bucket named '{bucket_id}'") from None


@register("query_bucket_names", [], "list", "Ids of all buckets, in creation order.",
          uses_context=True)
def _query_bucket_names(ctx: CallContext) -> list[str]:
    return [bucket.id for bucket in ctx.buckets()]


@register("find_bucket", [Param("filter", STRING), Param("hostname", STRING, optional=True)],
          "string", "Id of the first bucket (in creation order) containing `filter`, optionally "
          "on `hostname`.",
          uses_context=True)
def _find_bucket(ctx: CallContext, needle: str, hostname: str | None = None) -> str:
    for bucket in ctx.buckets():
        if needle in bucket.id and (not hostname or bucket.hostname == hostname):
            return bucket.id
    raise QueryError(
        f"no bucket matches '{needle}'" + (f" on host '{hostname}'" if hostname else "")
    )


# Filtering and combining


@register("filter_keyvals", [Param("events", EVENTS), Param("key", STRING), Param("vals", LIST)],
          "events", "Events whose data[key] equals one of vals.", takes_tables=True)
def _filter_keyvals(events: Any, key: str, vals: list[Any]) -> Any:
    if isinstance(events, ColumnarEvents):
        return columnar_engine().filter_keyvals(events, key, vals)
    return transform.filter_keyvals(events, key, vals)


@register("exclude_keyvals", [Param("events", EVENTS), Param("key", STRING), Param("vals", LIST)],
          "events", "Events whose data[key] is missing or equals none of vals.",
          takes_tables=True)
def _exclude_keyvals(events: Any, key: str, vals: list[Any]) -> Any:
    if isinstance(events, ColumnarEvents):
        return columnar_engine().filter_keyvals(events, key, vals, exclude=True)
    return transform.filter_keyvals(events, key, vals, exclude=True)


@register("filter_keyvals_regex",
          [Param("events", EVENTS), Param("key", STRING), Param("regex", STRING)],
          "events", "Events whose string data[key] contains a match of regex.", uses_context=True,
          takes_tables=True)
def _filter_keyvals_regex(ctx: CallContext, events: Any, key: str, regex: str) -> Any:
    try:
        pattern = transform.compile_regex(regex)
    except transform.RegexError as exc:
        raise QueryError(f"invalid regex {regex!r}: {exc}") from None
    if isinstance(events, ColumnarEvents):
        return columnar_engine().filter_keyvals_regex(events, key, pattern, ctx.budget)
    return transform.filter_keyvals_regex(events, key, pattern, ctx.budget)


@register("filter_period_intersect", [Param("events", EVENTS), Param("filter_events", EVENTS)],
          "events", "The parts of events that overlap some filter event (e.g. not-afk time).",
          uses_context=True, takes_tables=True)
def _filter_period_intersect(ctx: CallContext, events: Any, fl: Any) -> Any:
    if isinstance(events, ColumnarEvents) or isinstance(fl, ColumnarEvents):
        result = columnar_engine().filter_period_intersect(as_table(events), as_table(fl),
                                                           ctx.budget)
        if result is not None:
            return result
    return transform.filter_period_intersect(as_list(events), as_list(fl), ctx.budget)


@register("period_union", [Param("events1", EVENTS), Param("events2", EVENTS)], "events",
          "Time covered by either list, as non-overlapping events with empty data.")
def _period_union(events1: list[Event], events2: list[Event]) -> list[Event]:
    return transform.period_union(events1, events2)


@register("union_no_overlap", [Param("events1", EVENTS), Param("events2", EVENTS)], "events",
          "Both lists merged; where they overlap events1 wins and events2 is cut.")
def _union_no_overlap(events1: list[Event], events2: list[Event]) -> list[Event]:
    return transform.union_no_overlap(events1, events2)


@register("limit_events", [Param("events", LIST), Param("count", INT)], "list",
          "The first count items.", takes_tables=True)
def _limit_events(items: Any, count: int) -> Any:
    if isinstance(items, ColumnarEvents):
        return items.take(slice(None, count))  # type: ignore[attr-defined]
    return transform.limit_events(items, count)


@register("concat", [], "list", "The lists joined one after another.",
          variadic=Param("lists", LIST))
def _concat(*lists: list[Any]) -> list[Any]:
    # Tables arrive as lists (no takes_tables): a joined list may mix kinds of values.
    return transform.concat(*lists)


# Merging, sorting, summing


@register("merge_events_by_keys", [Param("events", EVENTS), Param("keys", LIST)], "events",
          "One event per distinct value of keys, durations summed.", uses_context=True,
          takes_tables=True)
def _merge_events_by_keys(ctx: CallContext, events: Any, keys: list[Any]) -> Any:
    if not all(isinstance(k, str) for k in keys):
        raise QueryError("merge_events_by_keys() keys must be strings")
    if isinstance(events, ColumnarEvents):
        return columnar_engine().merge_events_by_keys(events, keys, ctx.budget)
    return transform.merge_events_by_keys(events, keys, ctx.budget)


@register("merge_subwatcher_fields",
          [Param("base_events", EVENTS), Param("subwatcher_events", EVENTS), Param("keys", LIST),
           Param("conflict", STRING, optional=True)], "events",
          "Base events cut where overlapping sub-watcher events change, with keys copied "
          "from them.", uses_context=True)
def _merge_subwatcher_fields(ctx: CallContext, base: list[Event], subs: list[Event],
                             keys: list[Any], conflict: str = "base_wins") -> list[Event]:
    if not all(isinstance(k, str) for k in keys):
        raise QueryError("merge_subwatcher_fields() keys must be strings")
    if conflict not in transform.CONFLICT_RULES:
        raise QueryError("merge_subwatcher_fields() conflict must be 'base_wins' or "
                         f"'sub_wins', got {conflict!r}")
    return transform.merge_subwatcher_fields(base, subs, keys, conflict, ctx.budget)


@register("chunk_events_by_key", [Param("events", EVENTS), Param("key", STRING)], "events",
          "Runs of consecutive events sharing data[key], kept in data.subevents (legacy).")
def _chunk_events_by_key(events: list[Event], key: str) -> list[Event]:
    return transform.chunk_events_by_key(events, key)


@register("sort_by_timestamp", [Param("events", EVENTS)], "events", "Oldest first.",
          takes_tables=True)
def _sort_by_timestamp(events: Any) -> Any:
    if isinstance(events, ColumnarEvents):
        return columnar_engine().sort_by_timestamp(events)
    return transform.sort_by_timestamp(events)


@register("sort_by_duration", [Param("events", EVENTS)], "events", "Longest first.",
          takes_tables=True)
def _sort_by_duration(events: Any) -> Any:
    if isinstance(events, ColumnarEvents):
        return columnar_engine().sort_by_duration(events)
    return transform.sort_by_duration(events)


@register("sum_durations", [Param("events", EVENTS)], "number",
          "Total duration of the events in seconds.", takes_tables=True)
def _sum_durations(events: Any) -> float:
    if isinstance(events, ColumnarEvents):
        return columnar_engine().sum_durations(events) / US_PER_S
    return transform.sum_durations(events) / US_PER_S


@register("flood", [Param("events", EVENTS), Param("pulsetime", NUMBER, optional=True)],
          "events", "Fill gaps of up to pulsetime s (default 5) up to their midpoint; merge "
          "equal neighbours.",
          uses_context=True, takes_tables=True)
def _flood(ctx: CallContext, events: Any, pulsetime: float = 5) -> Any:
    if not math.isfinite(pulsetime) or pulsetime < 0:
        raise QueryError("flood() pulsetime must be a non-negative number of seconds")
    pulsetime_us = round(pulsetime * US_PER_S)
    if isinstance(events, ColumnarEvents):
        result = columnar_engine().flood(events, pulsetime_us, ctx.budget)
        if result is not None:
            return result
    return transform.flood(as_list(events), pulsetime_us, ctx.budget)


# Data enrichment


@register("split_url_events", [Param("events", EVENTS)], "events",
          "Add $protocol, $domain, $path, $params, $options, $identifier from data.url.")
def _split_url_events(events: list[Event]) -> list[Event]:
    return transform.split_url_events(events)


@register("simplify_window_titles", [Param("events", EVENTS), Param("key", STRING)], "events",
          "Strip '(3) ' counters, FPS read-outs and unsaved markers from data[key].")
def _simplify_window_titles(events: list[Event], key: str) -> list[Event]:
    return transform.simplify_window_titles(events, key)


@register("categorize", [Param("events", EVENTS), Param("classes", LIST)], "events",
          "Set data.$category to the deepest matching [category path, rule]; else Uncategorized.",
          uses_context=True, takes_tables=True)
def _categorize(ctx: CallContext, events: Any, classes: list[Any]) -> Any:
    compiled = _compile_classes(classes, "categorize")
    if isinstance(events, ColumnarEvents):
        labeller = transform.category_labeller(compiled)
        return columnar_engine().label(events, labeller, ctx.budget)
    return transform.categorize(events, compiled, ctx.budget)


@register("tag", [Param("events", EVENTS), Param("classes", LIST)], "events",
          "Set data.$tags to every tag whose [tag, rule] matches.", uses_context=True,
          takes_tables=True)
def _tag(ctx: CallContext, events: Any, classes: list[Any]) -> Any:
    compiled = _compile_classes(classes, "tag")
    if isinstance(events, ColumnarEvents):
        return columnar_engine().label(events, transform.tag_labeller(compiled), ctx.budget)
    return transform.tag(events, compiled, ctx.budget)


# Utilities


@register("nop", [], "integer", "Does nothing and returns 1 (for tests).")
def _nop() -> int:
    return 1


@register("print", [], "null", "Log the arguments on the server (debugging).",
          variadic=Param("values", ANY))
def _print(*values: Any) -> None:
    for value in values:
        logger.info("query print: %r", value)


@register("contains", [Param("container", LIST_OR_DICT), Param("value", ANY)], "boolean",
          "Whether a list holds value, or a dict has the string key value.")
def _contains(container: list[Any] | dict[str, Any], value: Any) -> bool:
    if isinstance(container, dict):
        if not isinstance(value, str):
            raise QueryError("contains() on a dict needs a string key")
        return value in container
    return value in container
