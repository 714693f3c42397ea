"""merge_subwatcher_fields: copy fields of a sub-watcher's events (an editor's project,
a browser's url) into the window events they overlap, as aw-core 0.5.18 does.

Each base event is cut at the edges of the sub-watcher events overlapping it; every
piece gets the named fields of the latest-starting sub-watcher event covering it, and
neighbouring pieces that end up with equal data join again. The pieces cover exactly
the base event's time, so totals per app or title do not change.

aw-core compares every piece with every overlapping sub-watcher event; here a sweep
over the pieces keeps the covering events in a heap, so one long base event under
thousands of sub-watcher events stays cheap. One difference (docs/query.md): piece
starts keep their microseconds, where aw-core truncates them to milliseconds.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from itertools import accumulate, pairwise
from operator import attrgetter
from typing import Any

from aw_server.models import Event
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

CONFLICT_RULES = ("base_wins", "sub_wins")
_by_timestamp = attrgetter("timestamp_us")

# A sub-watcher event as the sweep ranks it: the latest start wins, then the latest
# end, then the earliest in time order (its position, negated so larger is better).
_Rank = tuple[int, int, int]


def merge_subwatcher_fields(
    base_events: list[Event],
    subwatcher_events: list[Event],
    keys: list[str],
    conflict: str = "base_wins",
    deadline: Deadline = NO_DEADLINE,
) -> list[Event]:
    """Base events split where overlapping sub-watcher events start and end, each piece
    with `keys` copied from the sub-watcher event that covers it (`base_wins`: only keys
    the base event lacks; `sub_wins`: overwriting). Base order is kept; a base event
    nothing overlaps is returned as it is, a zero-duration one that something overlaps
    is dropped (it has no piece)."""
    if conflict not in CONFLICT_RULES:
        raise ValueError(f"conflict must be 'base_wins' or 'sub_wins', got {conflict!r}")
    if not subwatcher_events or not keys:
        return list(base_events)
    subs = sorted(subwatcher_events, key=_by_timestamp)
    starts = [sub.timestamp_us for sub in subs]
    ends = [sub.end_us for sub in subs]
    reach = list(accumulate(ends, max))  # the latest end among the first i + 1
    result: list[Event] = []
    for index, base in enumerate(base_events):
        if not index % CHECK_EVERY:
            deadline.check()
        start, end = base.timestamp_us, base.end_us
        # Overlapping: starting before the base ends and ending after it starts (a
        # zero-duration one: strictly inside).
        first, stop = bisect_right(reach, start), bisect_left(starts, end)
        overlapping = [i for i in range(first, stop) if ends[i] > start]
        if not overlapping:
            result.append(base)
            continue
        result += _pieces(base, overlapping, subs, keys, conflict == "sub_wins")
    return result


def _pieces(base: Event, overlapping: list[int], subs: list[Event], keys: list[str],
            overwrite: bool) -> list[Event]:
    """`base` cut at every edge of the `overlapping` sub-watcher events (positions in
    `subs`, in time order), pieces with equal data joined."""
    start, end = base.timestamp_us, base.end_us
    points = {start, end}
    for i in overlapping:
        points.add(min(max(subs[i].timestamp_us, start), end))
        points.add(min(max(subs[i].end_us, start), end))
    edges = sorted(points)
    # Zero-duration sub-watcher events count for the piece on either side of them.
    instants: dict[int, _Rank] = {}
    for i in overlapping:
        sub = subs[i]
        if sub.duration_us == 0:
            rank = (sub.timestamp_us, sub.timestamp_us, -i)
            instants[sub.timestamp_us] = max(instants.get(sub.timestamp_us, rank), rank)
    waiting = [i for i in overlapping if subs[i].duration_us > 0]
    waiting.reverse()  # popped from the end, earliest start first
    covering: list[tuple[int, int, int]] = []  # max-heap of ranks, negated
    pieces: list[Event] = []
    datas: dict[int, dict[str, Any]] = {}  # data per winning sub-watcher event
    for low, high in pairwise(edges):
        while waiting and subs[waiting[-1]].timestamp_us < high:
            i = waiting.pop()
            heapq.heappush(covering, (-subs[i].timestamp_us, -subs[i].end_us, i))
        while covering and -covering[0][1] <= low:
            heapq.heappop(covering)
        ranks = [(-c[0], -c[1], -c[2]) for c in covering[:1]]
        ranks += [instants[p] for p in (low, high) if p in instants]
        data = base.data
        if ranks:
            winner = -max(ranks)[2]
            found = datas.get(winner)
            if found is None:
                found = datas[winner] = _with_fields(base.data, subs[winner].data, keys,
                                                     overwrite)
            data = found
        last = pieces[-1] if pieces else None
        if last is not None and last.data == data:
            pieces[-1] = Event(last.timestamp_us, high - last.timestamp_us, last.data, base.id)
        else:
            pieces.append(Event(low, high - low, data, base.id))
    return pieces


def _with_fields(base: dict[str, Any], sub: dict[str, Any], keys: list[str],
                 overwrite: bool) -> dict[str, Any]:
    data = base
    for key in keys:
        if key in sub and (overwrite or key not in base):
            if data is base:
                data = dict(base)
            data[key] = sub[key]
    return data
