"""flood: close the small gaps a polling watcher leaves between consecutive events.

Computes what aw-core 0.5.18's `aw_transform/flood.py` computes (so the dashboards show
aw-server 0.12.0's numbers): a pairwise walk in time order, then a pass that removes any
overlap the walk left. Two deliberate differences, both listed in docs/query.md: moved starts
keep their microseconds (aw-core truncates them to milliseconds, which shortens the moved
event and can leave a following gap of exactly pulsetime open), and zero-duration events
lying inside an earlier event are ignored (aw-core lets them keep a gap open).

Spans are carried as integers; the last pass runs only if the walk left an overlap, and
input `Event` objects whose span did not change are reused, not copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter
from typing import Generic, TypeVar

from aw_server.models import Event
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

DEFAULT_PULSETIME_US = 5_000_000
# Overlaps shorter than this between events with different data are rounding noise from
# the watchers: they are split at their midpoint like a gap.
NEGATIVE_GAP_TRIM_US = 100_000

_by_duration = attrgetter("duration_us")
_by_start_then_duration = attrgetter("timestamp_us", "duration_us")
CHECK_MASK = CHECK_EVERY - 1  # CHECK_EVERY is a power of two: a mask beats a modulo
Item = TypeVar("Item")


def half_of_gap(gap: int) -> int:
    """gap / 2 rounded to the nearest microsecond, ties to even: what dividing a Python
    `timedelta` by 2 gives, so a midpoint lands on aw-core's microsecond."""
    half = gap >> 1
    return half + (gap & half & 1)


def _without_hidden_instants(ordered: list[Event]) -> list[Event]:
    """Drop zero-duration events that fall inside an earlier event.

    They carry no time, but in aw-core's pairwise walk they still take part: one can
    stop the gap after the event hiding it from being filled, or be stretched over
    part of that event.
    """
    kept: list[Event] = []
    covered_until = -(2**63)
    for event in ordered:
        start = event.timestamp_us
        duration = event.duration_us
        if duration == 0 and start < covered_until:
            continue
        covered_until = max(covered_until, start + duration)
        kept.append(event)
    return kept


def flood(
    events: list[Event],
    pulsetime_us: int = DEFAULT_PULSETIME_US,
    deadline: Deadline = NO_DEADLINE,
) -> list[Event]:
    """Fill gaps of up to `pulsetime_us` between neighbours; merge equal-data neighbours.

    In time order (ties: shorter first), each pair of neighbours is looked at once,
    the earlier one as the step before left it. A gap (or an overlap under 0.1 s)
    between different data is split at its midpoint; between equal data the longer
    event takes the other's span and the other is emptied. Overlapping equal data is
    one event. Then empty events are dropped and any overlap left is resolved: equal
    data merges, otherwise the later event keeps the overlap.
    """
    ordered = sorted(events, key=_by_start_then_duration)
    if not ordered:
        return []
    if 0 in map(_by_duration, ordered):
        ordered = _without_hidden_instants(ordered)
    walked, overlapping = _walk_pairs(ordered, pulsetime_us, deadline)
    if not overlapping:
        return walked
    spans = ((event, event.timestamp_us, event.end_us) for event in walked)
    return [_with_span(k.item, k.start, k.end)
            for k in without_overlaps(spans, _same_data, deadline)]


def _with_span(event: Event, start: int, end: int) -> Event:
    """`event` itself if its span is unchanged (transforms never mutate events)."""
    if start == event.timestamp_us and end - start == event.duration_us:
        return event
    return Event(start, end - start, event.data, event.id)


def _walk_pairs(
    ordered: list[Event], pulsetime_us: int, deadline: Deadline
) -> tuple[list[Event], bool]:
    """aw-core's pairwise step, in order: the events left non-empty, and whether any of
    them overlap (which the last pass then resolves). Only the earlier event of a pair
    carries a change from the step before; the later one is still as given."""
    walked: list[Event] = []
    append = walked.append
    trim = -NEGATIVE_GAP_TRIM_US
    # Whether a kept event starts before the one kept before it ends: if none does, the
    # starts rise and no two events overlap at all.
    last_end = -(2**63)
    overlapping = False
    e1 = ordered[0]
    s1 = e1.timestamp_us
    end1 = s1 + e1.duration_us
    data1 = e1.data
    for index, e2 in enumerate(islice(ordered, 1, None)):
        if not index & CHECK_MASK:
            deadline.check()
        s2 = e2.timestamp_us
        end2 = s2 + e2.duration_us
        data2 = e2.data
        gap = s2 - end1
        if gap:
            same = data1 is data2 or data1 == data2
            if gap < 0 and same:
                # One activity reported twice: the earlier event takes both spans.
                s1 = min(s1, s2)
                end1 = max(end1, end2)
                s2 = end2 = end1
            elif trim < gap <= pulsetime_us:
                if not same:
                    end1 = s2 = end1 + half_of_gap(gap)
                elif end1 - s1 >= end2 - s2:
                    end1 = s2 = end2
                else:
                    s2 = end1 = s1
            # Otherwise: a gap longer than pulsetime, or a larger overlap between
            # different activities; the last pass resolves the latter.
        if end1 > s1:  # kept: `_with_span`, inlined for the common case
            if s1 == e1.timestamp_us and end1 - s1 == e1.duration_us:
                append(e1)
            else:
                append(Event(s1, end1 - s1, data1, e1.id))
            if s1 < last_end:
                overlapping = True
            last_end = end1
        e1, s1, end1, data1 = e2, s2, end2, data2
    if end1 > s1:
        append(_with_span(e1, s1, end1))
        overlapping = overlapping or s1 < last_end
    return walked, overlapping


@dataclass(slots=True)
class Kept(Generic[Item]):
    """An event (or whatever stands for one) and its span, as the last pass leaves it."""

    item: Item
    start: int
    end: int


def without_overlaps(
    spans: Iterable[tuple[Item, int, int]],
    same_data: Callable[[Item, Item], bool],
    deadline: Deadline = NO_DEADLINE,
) -> list[Kept[Item]]:
    """aw-core's last pass over the non-empty events, in the walk's order: an event
    overlapping the last one kept merges into it if their data is equal, else cuts it
    short (dropping it if nothing is left, and then looking at the one before).

    The result is sorted and free of overlaps. The columnar flood uses this too, on the
    few rows that overlap.
    """
    kept: list[Kept[Item]] = []
    for index, (item, start, end) in enumerate(spans):
        if not index & CHECK_MASK:
            deadline.check()
        if end <= start:
            continue
        while kept and kept[-1].end > start:
            last = kept[-1]
            if same_data(last.item, item):
                last.end = max(last.end, end)
                break
            last.end = start
            if start <= last.start:
                kept.pop()
                continue
            kept.append(Kept(item, start, end))
            break
        else:
            kept.append(Kept(item, start, end))
    return kept


def _same_data(first: Event, second: Event) -> bool:
    return first.data is second.data or first.data == second.data
