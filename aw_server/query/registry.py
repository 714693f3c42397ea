"""The query function registry: name -> implementation, typed parameters, description.

Arguments are checked against the declared parameters before the call, so a wrong
argument is reported as such, and a `TypeError` raised inside an implementation is
left alone to surface as the bug it is. The registry also feeds
`describe_functions()` (API docs) and docs/query.md. The functions themselves are in
`functions.py`, which fills `FUNCTIONS` when it is imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aw_server.errors import NoSuchBucket, QueryError
from aw_server.models import BucketInfo, ColumnarEvents, Event, EventSource
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


def columnar_engine() -> ModuleType:
    """The numpy-backed transforms, imported on first use (see aw_server/models.py)."""
    from aw_server.transform import columnar

    return columnar


def as_table(events: Any) -> Any:
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
