"""Keep or drop events by the value of one data key (aw-core `filter_keyvals.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import regex

from aw_server.models import Event
from aw_server.transform.classify import search
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

_SCALARS = (str, int, float, bool, type(None))


def _membership(vals: list[Any]) -> tuple[set[Any], list[Any]]:
    """Split `vals` into a set (hashable scalars, O(1) lookups) and the rest.

    Python's `in` on a list compares with `==`, and the set keeps that meaning for
    scalars because equal scalars hash alike (1 == 1.0 == True); lists and dicts are
    compared one by one.
    """
    hashable: set[Any] = set()
    others: list[Any] = []
    for value in vals:
        if isinstance(value, _SCALARS):
            hashable.add(value)
        else:
            others.append(value)
    return hashable, others


def keyval_matcher(key: str, vals: list[Any]) -> Callable[[dict[str, Any]], bool]:
    """Whether a data dict's `key` equals one of `vals`; a missing key never matches."""
    hashable, others = _membership(vals)
    missing = object()

    def matches(data: dict[str, Any]) -> bool:
        value = data.get(key, missing)
        if value is missing:
            return False
        if isinstance(value, _SCALARS):
            return value in hashable
        return value in others

    return matches


def filter_keyvals(
    events: list[Event], key: str, vals: list[Any], exclude: bool = False
) -> list[Event]:
    """Events whose `data[key]` equals one of `vals`; with `exclude`, all the others.

    An event without `key` never matches, so `exclude` keeps it.
    """
    matches = keyval_matcher(key, vals)
    return [event for event in events if matches(event.data) != exclude]


def filter_keyvals_regex(
    events: list[Event], key: str, pattern: regex.Pattern[str], deadline: Deadline = NO_DEADLINE
) -> list[Event]:
    """Events whose string `data[key]` contains a match of `pattern` (search, unanchored).

    Non-string values never match (aw-core would crash on them).
    """
    keep: list[Event] = []
    memo: dict[str, bool] = {}
    for index, event in enumerate(events):
        if index % CHECK_EVERY == 0:
            deadline.check()
        value = event.data.get(key)
        if not isinstance(value, str):
            continue
        hit = memo.get(value)
        if hit is None:
            hit = memo[value] = search(pattern, value)
        if hit:
            keep.append(event)
    return keep


def limit_events(items: list[Any], count: int) -> list[Any]:
    """The first `count` items, with Python slice meaning (a negative count drops from the end)."""
    return items[:count]
