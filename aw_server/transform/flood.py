"""flood: close the small gaps a polling watcher leaves between consecutive events.

Follows aw-core's `aw_transform/flood.py` pairwise rule (with two documented fixes, see
docs/query.md), but carries integer spans through one pass instead of deep-copying every
event first, and reuses the input `Event` objects whose span did not change.
"""

from __future__ import annotations

from itertools import islice
from operator import attrgetter

from aw_server.models import Event
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

DEFAULT_PULSETIME_US = 5_000_000
# Overlaps shorter than this between events with different data are rounding noise from
# the watchers: aw-core trims them instead of leaving the overlap in place.
NEGATIVE_GAP_TRIM_US = 100_000

_by_timestamp = attrgetter("timestamp_us")
_by_duration = attrgetter("duration_us")
CHECK_MASK = CHECK_EVERY - 1  # CHECK_EVERY is a power of two: a mask beats a modulo


def _without_hidden_instants(ordered: list[Event]) -> list[Event]:
    """Drop zero-duration events that fall inside an earlier event.

    They carry no time, but in aw-core's pairwise walk they still take part: one can
    block a gap from being filled, or be stretched over the event that hides it.
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
    """Extend neighbours over gaps up to `pulsetime_us`; merge same-data neighbours.

    Two deliberate differences from aw-core, both about events that carry no time of
    their own: zero-duration events inside an earlier event are ignored, and an event
    that an earlier step absorbed or trimmed is never merged back over the event before
    it (aw-core would count that time twice).

    The longer of two neighbours grows over the gap (ties favour the earlier one); two
    neighbours with equal data become one event; events left with no duration (including
    zero-duration input events) are dropped. The result is sorted by timestamp.
    """
    ordered = sorted(events, key=_by_timestamp)
    if not ordered:
        return []
    if 0 in map(_by_duration, ordered):
        ordered = _without_hidden_instants(ordered)
    result: list[Event] = []
    append = result.append
    trim = -NEGATIVE_GAP_TRIM_US
    # (e1, s1, d1, data1) is the event at the current index as modified by the previous
    # step. Each step may modify it and the next event; the next event's (possibly
    # modified) span is carried forward, and the current one is final and emitted.
    floor = -(2**63)  # end of the last event emitted
    last_start = floor
    in_order = True
    e1 = ordered[0]
    s1 = e1.timestamp_us
    d1 = e1.duration_us
    data1 = e1.data
    for index, e2 in enumerate(islice(ordered, 1, None)):
        if not index & CHECK_MASK:
            deadline.check()
        s2 = e2.timestamp_us
        d2 = e2.duration_us
        data2 = e2.data
        gap = s2 - (s1 + d1)
        if gap != 0:
            same = data1 is data2 or data1 == data2
            if gap < 0 and same:
                # Overlapping events with equal data are one activity reported twice.
                end = max(s1 + d1, s2 + d2)
                if s2 < s1:
                    # Only possible when an earlier step moved this event later (it was
                    # absorbed or trimmed). aw-core then pulls it back over the event
                    # already emitted, counting that time twice; never go below `floor`.
                    s1 = max(s2, floor)
                d1 = max(end - s1, 0)
                s2 = end
                d2 = 0
            elif trim < gap <= pulsetime_us:
                end2 = s2 + d2
                if d1 >= d2:
                    if same:
                        d1 = end2 - s1
                        s2 = end2
                        d2 = 0
                    else:
                        d1 = s2 - s1
                elif same:
                    s2 = s1
                    d2 = end2 - s1
                    d1 = 0
                else:
                    s2 = s1 + d1
                    d2 = end2 - s2
            # Otherwise: a real gap longer than pulsetime, or an overlap between
            # different activities that cannot be resolved safely; both stay as they are.
        if d1 > 0:
            if s1 == e1.timestamp_us and d1 == e1.duration_us:
                append(e1)
            else:
                append(Event(s1, d1, data1, e1.id))
            if s1 < last_start:
                in_order = False
            last_start = s1
            floor = s1 + d1
        e1, s1, d1, data1 = e2, s2, d2, data2
    if d1 > 0:
        unchanged = s1 == e1.timestamp_us and d1 == e1.duration_us
        append(e1 if unchanged else Event(s1, d1, data1, e1.id))
        in_order = in_order and s1 >= last_start
    if not in_order:
        # Only overlapping input gets here: a step can push an event past the start of
        # the next one. aw-core returns that order as is; sorting keeps the contract.
        result.sort(key=_by_timestamp)
    return result
