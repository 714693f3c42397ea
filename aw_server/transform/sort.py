"""Ordering and totals. Sorts are stable, so equal keys keep their input order."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from aw_server.models import Event

_by_timestamp = attrgetter("timestamp_us")
_by_duration = attrgetter("duration_us")


def sort_by_timestamp(events: list[Event]) -> list[Event]:
    """Oldest first."""
    return sorted(events, key=_by_timestamp)


def sort_by_duration(events: list[Event]) -> list[Event]:
    """Longest first; `reverse=True` keeps ties in input order, as Python's does."""
    return sorted(events, key=_by_duration, reverse=True)


def sum_durations(events: list[Event]) -> int:
    """Total duration in microseconds (exact; the query layer turns it into seconds)."""
    return sum(map(_by_duration, events))


def concat(*lists: list[Any]) -> list[Any]:
    """All lists one after another (aw-core takes two, aw-server-rust any number)."""
    result: list[Any] = []
    for items in lists:
        result.extend(items)
    return result
