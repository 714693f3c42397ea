"""Operations on the time spans of event lists: intersection, union, priority union.

Semantics follow aw-core (`filter_period_intersect.py`, `union_no_overlap.py`) and the
`timeslot` package they use, including its closed-interval containment rule: a
zero-duration event lying inside (or on the edge of) a filter event intersects it.
All three are linear sweeps after at most one sort per input.
"""

from __future__ import annotations

from operator import attrgetter

from aw_server.models import Event
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

_by_timestamp = attrgetter("timestamp_us")


def filter_period_intersect(
    events: list[Event], filter_events: list[Event], deadline: Deadline = NO_DEADLINE
) -> list[Event]:
    """Keep only the parts of `events` that lie inside some filter event (AFK filtering).

    Each piece keeps the data and id of the event it was cut from; the result is sorted
    by timestamp. Like aw-core this is a two-pointer sweep, so it assumes each input is
    free of self-overlap (as watcher buckets are); overlapping inputs give aw-core's
    answer, which can miss some intersections.
    """
    ev = sorted(events, key=_by_timestamp)
    fl = sorted(filter_events, key=_by_timestamp)
    n_ev = len(ev)
    n_fl = len(fl)
    fl_start = [f.timestamp_us for f in fl]
    fl_end = [f.timestamp_us + f.duration_us for f in fl]
    result: list[Event] = []
    append = result.append
    i = j = 0
    steps = 0
    while i < n_ev and j < n_fl:
        steps += 1
        if steps % CHECK_EVERY == 0:
            deadline.check()
        event = ev[i]
        s1 = event.timestamp_us
        e1 = s1 + event.duration_us
        s2 = fl_start[j]
        e2 = fl_end[j]
        if s2 <= s1 and e1 <= e2:
            # The common case (a window event inside a not-afk period), checked first;
            # every branch below would give the same span here.
            append(event)
            i += 1
            continue
        # timeslot's intersection (inlined: this loop runs once per event).
        found = True
        if s1 <= s2 and e2 <= e1:
            span_start, span_end = s2, e2
        elif s1 <= s2 < e1:
            span_start, span_end = s2, e1
        elif s1 < e2 <= e1:
            span_start, span_end = s1, e2
        elif s2 <= s1 and e1 <= e2:
            span_start, span_end = s1, e1
        else:
            found = False
        if found:
            if span_start == s1 and span_end == e1:
                append(event)
            else:
                append(Event(span_start, span_end - span_start, event.data, event.id))
            if e1 <= e2:
                i += 1
            else:
                j += 1
        elif e1 <= s2:
            i += 1
        elif e2 <= s1:
            j += 1
        else:  # unreachable for non-negative durations; mirrors aw-core's escape hatch
            i += 1
            j += 1
    return result


def period_union(events1: list[Event], events2: list[Event]) -> list[Event]:
    """Cover every moment covered by either list with non-overlapping, data-less events.

    Touching or overlapping spans merge; each output event keeps the id of the earliest
    event it absorbed (as aw-core does) and `data` is always `{}`, because no single
    data dict describes a merged span.
    """
    ordered = sorted(events1 + events2, key=_by_timestamp)
    result: list[Event] = []
    if not ordered:
        return result
    first = ordered[0]
    cur_start = first.timestamp_us
    cur_end = cur_start + first.duration_us
    cur_id = first.id
    for event in ordered[1:]:
        start = event.timestamp_us
        end = start + event.duration_us
        if start <= cur_end:
            cur_end = max(cur_end, end)
        else:
            result.append(Event(cur_start, cur_end - cur_start, {}, cur_id))
            cur_start, cur_end, cur_id = start, end, event.id
    result.append(Event(cur_start, cur_end - cur_start, {}, cur_id))
    return result


def _overlaps(s1: int, e1: int, s2: int, e2: int) -> bool:
    """timeslot's `overlaps`/`intersects` (closed containment, open touching)."""
    return s1 <= s2 < e1 or s1 < e2 <= e1 or (s2 <= s1 and e1 <= e2)


def _trim(event: Event, covered_until: int) -> Event | None:
    """The part of `event` after `covered_until` (None if nothing is left)."""
    start = event.timestamp_us
    if start >= covered_until:
        return event
    end = start + event.duration_us
    if end <= covered_until:
        return None
    return Event(covered_until, end - covered_until, event.data, event.id)


def union_no_overlap(events1: list[Event], events2: list[Event]) -> list[Event]:
    """Merge two lists; where they overlap `events1` wins and `events2` is cut around it.

    Like aw-core this walks both lists in the order given (it does not sort), so pass
    lists sorted by timestamp. Unlike aw-core, an `events1` event that covers several
    `events2` events removes all of them (aw-core only cuts the first and leaves the
    rest overlapping), and a zero-duration `events1` event does not delete the
    `events2` event it touches.
    """
    result: list[Event] = []
    append = result.append
    n1 = len(events1)
    n2 = len(events2)
    # End of the latest events1 event emitted: events2 items are trimmed against it as
    # they are taken, so nothing emitted later can overlap it.
    covered_until = -(2**63)
    i = 0
    j = -1
    cur2: Event | None = None

    def take_next() -> Event | None:
        nonlocal j
        while True:
            j += 1
            if j >= n2:
                return None
            piece = _trim(events2[j], covered_until)
            if piece is not None:
                return piece

    cur2 = take_next()
    while i < n1 and cur2 is not None:
        e1 = events1[i]
        s1 = e1.timestamp_us
        end1 = s1 + e1.duration_us
        s2 = cur2.timestamp_us
        end2 = s2 + cur2.duration_us
        if s1 <= s2:
            # events1 first (or tied): emit it, then cut what it covers of cur2.
            append(e1)
            i += 1
            covered_until = max(covered_until, end1)
            if _overlaps(s1, end1, s2, end2):
                cur2 = _trim(cur2, covered_until) if end1 < end2 else None
                if cur2 is None:
                    cur2 = take_next()
        elif _overlaps(s1, end1, s2, end2) and s1 < end2:
            # cur2 starts first and runs into e1: emit its head, keep its tail.
            append(Event(s2, s1 - s2, cur2.data, cur2.id))
            cur2 = Event(s1, end2 - s1, cur2.data, cur2.id)
        else:
            append(cur2)
            cur2 = take_next()
    result.extend(events1[i:])
    while cur2 is not None:
        append(cur2)
        cur2 = take_next()
    return result
