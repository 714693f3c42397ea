"""The query function registry: name -> implementation, typed parameters, description.

Arguments are checked against the declared parameters before the call, so a wrong
argument is reported as such, and a `TypeError` raised inside an implementation is
left alone to surface as the bug it is. The registry also feeds
`describe_functions()` (API docs) and docs/query.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aw_server import transform
from aw_server.errors import NoSuchBucket, QueryError
from aw_server.models import US_PER_S, BucketInfo, ColumnarEvents, Event, EventSource
from aw_server.query.limits import Budget

logger = logging.getLogger(__name__)


@dataclass
class CallContext:
    """What the few I/O functions may see: the source, the period, and the budget.

    `bucket_markers` and `bucket_list` record what was read, so a cached result can
    later be checked for staleness.
    """

    source: EventSource
    start_us: int
    end_us: int
    budget: Budget
    bucket_markers: dict[str, int] = field(default_factory=dict)
    bucket_list: tuple[BucketInfo, ...] | None = None

    def buckets(self) -> list[BucketInfo]:
        buckets = self.source.buckets()
        self.bucket_list = tuple(buckets)
        return buckets

    def mark_read(self, bucket_id: str) -> None:
        """Take the change marker before reading, so a concurrent write invalidates it."""
        try:
            marker = self.source.change_marker(bucket_id)
        except NoSuchBucket:
            raise QueryError(f"there is no bucket named '{bucket_id}'") from None
        self.bucket_markers.setdefault(bucket_id, marker)


@dataclass(frozen=True, slots=True)
class ArgType:
    name: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda value: value


def _is_events(value: Any) -> bool:
    # set(map(type, ...)) runs in C: checking a million events costs milliseconds.
    if isinstance(value, ColumnarEvents):
        return True
    return isinstance(value, list) and set(map(type, value)) <= {Event}


def as_list(value: Any) -> Any:
    """An event table as the list of events it stands for; anything else as is."""
    return value.to_events() if isinstance(value, ColumnarEvents) else value


def _columnar() -> ModuleType:
    """The numpy-backed transforms, imported on first use (see aw_server/models.py)."""
    from aw_server.transform import columnar

    return columnar


def _table(events: Any) -> Any:
    """`events` as an EventTable (a list is converted)."""
    from aw_server.event_table import EventTable

    return events if isinstance(events, ColumnarEvents) else EventTable.from_events(events)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    """Integral floats pass too: aw-server-rust clients only have one number type."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


EVENTS = ArgType("events", _is_events)
LIST = ArgType("list", lambda v: isinstance(v, list | ColumnarEvents))
STRING = ArgType("string", lambda v: isinstance(v, str))
INT = ArgType("integer", _is_int, int)
NUMBER = ArgType("number", _is_number)
ANY = ArgType("any", lambda v: True)
LIST_OR_DICT = ArgType("list or dict", lambda v: isinstance(v, list | dict))


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ArgType
    optional: bool = False


@dataclass(frozen=True, slots=True)
class QueryFunction:
    name: str
    params: tuple[Param, ...]
    returns: str
    description: str
    impl: Callable[..., Any]
    variadic: Param | None = None  # a final parameter that may repeat
    uses_context: bool = False
    # Whether the implementation takes event tables as they are; for the others every
    # table argument is turned into a list of events first.
    takes_tables: bool = False

    @property
    def signature(self) -> str:
        parts = [f"{p.name}{'?' if p.optional else ''}: {p.type.name}" for p in self.params]
        if self.variadic is not None:
            parts.append(f"...{self.variadic.name}: {self.variadic.type.name}")
        return f"{self.name}({', '.join(parts)}) -> {self.returns}"

    @property
    def arity(self) -> tuple[int, int | None]:
        """(fewest, most) arguments; most is None for a repeated last parameter."""
        required = sum(1 for p in self.params if not p.optional)
        return required, None if self.variadic is not None else len(self.params)

    def accepts(self, count: int) -> bool:
        required, most = self.arity
        return required <= count and (most is None or count <= most)

    def bind(self, args: list[Any]) -> list[Any]:
        """Check count and types of `args`; return them converted (e.g. 3.0 -> 3)."""
        if not self.accepts(len(args)):
            required, most = self.arity
            expected = str(required) if most == required else f"{required} to {most}"
            if most is None:
                expected = f"at least {required}"
            raise QueryError(
                f"{self.name}() takes {expected} argument{'s' if expected != '1' else ''}, "
                f"got {len(args)} (signature: {self.signature})"
            )
        bound = []
        for index, value in enumerate(args):
            param = self.params[index] if index < len(self.params) else self.variadic
            assert param is not None
            if not self.takes_tables:
                value = as_list(value)
            if not param.type.accepts(value):
                raise QueryError(
                    f"argument {index + 1} ('{param.name}') of {self.name}() must be "
                    f"{param.type.name}, got {type_name(value)}"
                )
            bound.append(param.type.convert(value))
        return bound


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, ColumnarEvents):
        return "list of events"
    if isinstance(value, list):
        return "list of events" if value and _is_events(value) else "list"
    names = {int: "integer", float: "number", str: "string", dict: "dict", Event: "event"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


FUNCTIONS: dict[str, QueryFunction] = {}


def register(
    name: str,
    params: list[Param],
    returns: str,
    description: str,
    *,
    variadic: Param | None = None,
    uses_context: bool = False,
    takes_tables: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name] = QueryFunction(
            name, tuple(params), returns, description, impl, variadic, uses_context,
            takes_tables,
        )
        return impl

    return decorate


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
        return _columnar().filter_keyvals(events, key, vals)
    return transform.filter_keyvals(events, key, vals)


@register("exclude_keyvals", [Param("events", EVENTS), Param("key", STRING), Param("vals", LIST)],
          "events", "Events whose data[key] is missing or equals none of vals.",
          takes_tables=True)
def _exclude_keyvals(events: Any, key: str, vals: list[Any]) -> Any:
    if isinstance(events, ColumnarEvents):
        return _columnar().filter_keyvals(events, key, vals, exclude=True)
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
        return _columnar().filter_keyvals_regex(events, key, pattern, ctx.budget)
    return transform.filter_keyvals_regex(events, key, pattern, ctx.budget)


@register("filter_period_intersect", [Param("events", EVENTS), Param("filter_events", EVENTS)],
          "events", "The parts of events that overlap some filter event (e.g. not-afk time).",
          uses_context=True, takes_tables=True)
def _filter_period_intersect(ctx: CallContext, events: Any, fl: Any) -> Any:
    if isinstance(events, ColumnarEvents) or isinstance(fl, ColumnarEvents):
        result = _columnar().filter_period_intersect(_table(events), _table(fl), ctx.budget)
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
        return _columnar().merge_events_by_keys(events, keys, ctx.budget)
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
        return _columnar().sort_by_timestamp(events)
    return transform.sort_by_timestamp(events)


@register("sort_by_duration", [Param("events", EVENTS)], "events", "Longest first.",
          takes_tables=True)
def _sort_by_duration(events: Any) -> Any:
    if isinstance(events, ColumnarEvents):
        return _columnar().sort_by_duration(events)
    return transform.sort_by_duration(events)


@register("sum_durations", [Param("events", EVENTS)], "number",
          "Total duration of the events in seconds.", takes_tables=True)
def _sum_durations(events: Any) -> float:
    if isinstance(events, ColumnarEvents):
        return _columnar().sum_durations(events) / US_PER_S
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
        result = _columnar().flood(events, pulsetime_us, ctx.budget)
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
        return _columnar().label(events, labeller, ctx.budget)
    return transform.categorize(events, compiled, ctx.budget)


@register("tag", [Param("events", EVENTS), Param("classes", LIST)], "events",
          "Set data.$tags to every tag whose [tag, rule] matches.", uses_context=True,
          takes_tables=True)
def _tag(ctx: CallContext, events: Any, classes: list[Any]) -> Any:
    compiled = _compile_classes(classes, "tag")
    if isinstance(events, ColumnarEvents):
        return _columnar().label(events, transform.tag_labeller(compiled), ctx.budget)
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
