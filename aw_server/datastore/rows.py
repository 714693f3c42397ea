"""Conversions between stored rows and models, shared by the store's modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aw_server.errors import BadRequest, EventTooLarge
from aw_server.models import Event, format_us


@dataclass(slots=True)
class BucketRow:
    """What the store keeps in memory about a live bucket for fast lookups."""

    key: int
    id: str
    readonly: bool
    max_duration: int
    # Seq of the newest write that touched the bucket: the query cache's validity marker.
    last_seq: int = 0


# What `json.dumps(value, ensure_ascii=False, separators=(",", ":"))` builds on every
# call, built once: the same text, without an encoder object per event.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))


def dump_json(value: Any) -> str:
    """Compact JSON text for storage; falls back to ASCII escapes for lone surrogates,
    which are valid JSON but cannot be encoded as UTF-8 text."""
    text = _COMPACT.encode(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _COMPACT_ASCII.encode(value)
    return text


def text_size(text: str) -> int:
    """UTF-8 bytes of a stored JSON text (a lone surrogate, which `dump_json` never
    writes, counts as its three bytes)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def sized_json(value: Any, limit: int, what: str | Callable[[], str]) -> str:
    """`dump_json(value)`, refused with `EventTooLarge` above `limit` bytes. `what` names
    the value in the error; a callable is only called then (an event's time, formatted
    for every event of a batch, cost a third of storing it)."""
    text = dump_json(value)
    if len(text) > limit // 4 and text_size(text) > limit:
        raise EventTooLarge(what if isinstance(what, str) else what(), text_size(text), limit)
    return text


def check_text(value: str, field_name: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"'{field_name}' contains invalid unicode", param=field_name) from None
    return value


def event_from_row(row: tuple[int, int, int, str]) -> Event:
    event_id, start, end, data = row
    return Event(start, end - start, json.loads(data), event_id)


def event_json_text(event_id: int | None, start: int, end: int, data: str) -> str:
    """An event's wire JSON built straight from the stored text, without parsing `data`."""
    head = f'{{"id": {event_id}, ' if event_id is not None else "{"
    duration = (end - start) / 1e6
    return f'{head}"timestamp": "{format_us(start)}", "duration": {duration!r}, "data": {data}}}'
