"""Group events by data values: merge_events_by_keys and the legacy chunk_events_by_key."""

from __future__ import annotations

from itertools import repeat
from typing import Any

from aw_server.models import Event, freeze
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

DEFAULT_CHUNK_PULSETIME_US = 5_000_000


class _Missing:
    """Marks an absent key inside a group key, so {"a": X} and {"b": X} stay apart."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


class GroupKeys:
    """The group of a data dict under merge_events_by_keys: a hashable tuple of its
    values for `keys`, with list and dict values (e.g. "$category" paths) frozen."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = list(keys)
        self.missing = repeat(MISSING)
        self.frozen: dict[tuple[int, ...], Any] = {}

    def __call__(self, data: dict[str, Any]) -> Any:
        key = tuple(map(data.get, self.keys, self.missing))
        try:
            hash(key)
            return key
        except TypeError:  # a list or dict value
            pass
        # Values are shared between dicts (categorize gives every dict of a category the
        # same path list), so the frozen key is remembered by the values' identities.
        identity = tuple(map(id, key))
        frozen = self.frozen.get(identity)
        if frozen is None:
            frozen = self.frozen[identity] = tuple(
                freeze(part) if isinstance(part, list | dict) else part for part in key
            )
        return frozen


def merged_data(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A group's data: the grouped keys its first event has."""
    return {k: data[k] for k in keys if k in data}


def merge_events_by_keys(
    events: list[Event], keys: list[str], deadline: Deadline = NO_DEADLINE
) -> list[Event]:
    """One event per distinct combination of values of `keys`, with summed duration.

    Each group's event takes its timestamp from the first event of the group, carries
    only the grouped keys (those present), and has no id. Events lacking some keys form
    their own groups (aw-core behaviour; aw-server-rust drops them). Groups come out in
    order of first appearance. With no keys, the events are returned unchanged.
    """
    if not keys:
        return list(events)
    # Pass 1, per event: sum durations per data dict *object*. Events sharing a dict
    # (interning storage, flood, categorize) then cost one dict operation each, and the
    # key tuples below are built once per distinct dict instead of once per event.
    # Insertion order is first appearance, and ids stay unique because `events` keeps
    # every dict alive for the whole call.
    by_object: dict[int, list[Any]] = {}
    get = by_object.get
    for chunk_start in range(0, len(events), CHECK_EVERY):
        deadline.check()
        for event in events[chunk_start : chunk_start + CHECK_EVERY]:
            data = event.data
            entry = get(id(data))
            if entry is None:
                by_object[id(data)] = [event.timestamp_us, event.duration_us, data]
            else:
                entry[1] += event.duration_us

    # Pass 2, per distinct dict: group by the values of `keys`. Iterating in first-seen
    # order keeps each group's first event (and so its timestamp) as in a single pass.
    groups: dict[Any, list[Any]] = {}
    group_key = GroupKeys(keys)
    for timestamp_us, duration_us, data in by_object.values():
        key = group_key(data)
        group = groups.get(key)
        if group is None:
            groups[key] = [timestamp_us, duration_us, data]
        else:
            group[1] += duration_us
    key_list = group_key.keys
    result: list[Event] = []
    for timestamp_us, duration_us, data in groups.values():
        result.append(Event(timestamp_us, duration_us, merged_data(data, key_list), None))
    return result


def chunk_events_by_key(
    events: list[Event], key: str, pulsetime_us: int = DEFAULT_CHUNK_PULSETIME_US
) -> list[Event]:
    """Join runs of consecutive events sharing `data[key]`, keeping them in "subevents".

    A run continues while the gap from the previous event's end is under `pulsetime_us`.
    Processing stops at the first event without `key` (aw-core behaviour). Chunk
    durations are sums of the member durations, not spans.
    """
    chunks: list[list[Any]] = []  # [timestamp, duration, value, subevents]
    previous_end: int | None = None
    for event in events:
        if key not in event.data:
            break
        value = event.data[key]
        last = chunks[-1] if chunks else None
        if (
            last is not None
            and previous_end is not None
            and last[2] == value
            and event.timestamp_us - previous_end < pulsetime_us
        ):
            last[1] += event.duration_us
            last[3].append(event.to_json())
        else:
            chunks.append([event.timestamp_us, event.duration_us, value, [event.to_json()]])
        previous_end = event.timestamp_us + event.duration_us
    return [
        Event(start, duration, {key: value, "subevents": subevents}, None)
        for start, duration, value, subevents in chunks
    ]
