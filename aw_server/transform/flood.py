"""flood: close the small gaps a polling watcher leaves between consecutive events.

Follows aw-core's `aw_transform/flood.py` pairwise rule exactly (see docs/query.md), but
works on integer microseconds in parallel lists instead of deep-copying every event, and
reuses the input `Event` objects whose span did not change.
"""

from __future__ import annotations

from operator import attrgetter

from aw_server.models import Event
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline

DEFAULT_PULSETIME_US = 5_000_000
# Overlaps shorter than this between events with different data are rounding noise from
# the watchers: aw-core trims them instead of leaving the overlap in place.
NEGATIVE_GAP_TRIM_US = 100_000

_by_timestamp = attrgetter("timestamp_us")


def flood(
    events: list[Event],
    pulsetime_us: int = DEFAULT_PULSETIME_US,
    deadline: Deadline = NO_DEADLINE,
) -> list[Event]:
    """Extend neighbours over gaps up to `pulsetime_us`; merge same-data neighbours.

    The longer of two neighbours grows over the gap (ties favour the earlier one); two
    neighbours with equal data become one event; events left with no duration (including
    zero-duration input events) are dropped. The result is sorted by timestamp.
    """
    ordered = sorted(events, key=_by_timestamp)
    count = len(ordered)
    if count == 0:
        return []
    # Final spans, filled in as the sweep leaves each index. The pair (s1, d1, data1) is
    # the event at index i as modified by the step before; step i may modify both i and
    # i + 1, so i + 1's (possibly modified) values are carried into the next step.
    starts = [0] * count
    durations = [0] * count
    trim = -NEGATIVE_GAP_TRIM_US
    first = ordered[0]
    s1 = first.timestamp_us
    d1 = first.duration_us
    data1 = first.data
    for i in range(1, count):
        if i % CHECK_EVERY == 0:
            deadline.check()
        e2 = ordered[i]
        s2 = e2.timestamp_us
        d2 = e2.duration_us
        data2 = e2.data
        gap = s2 - (s1 + d1)
        if gap != 0:
            same = data1 is data2 or data1 == data2
            if gap < 0 and same:
                # Overlapping events with equal data are one activity reported twice.
                end = max(s1 + d1, s2 + d2)
                s1 = min(s1, s2)
                d1 = end - s1
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
        starts[i - 1] = s1
        durations[i - 1] = d1
        s1, d1, data1 = s2, d2, data2
    starts[count - 1] = s1
    durations[count - 1] = d1

    result: list[Event] = []
    append = result.append
    for i in range(count):
        duration = durations[i]
        if duration <= 0:
            continue
        original = ordered[i]
        start = starts[i]
        if start == original.timestamp_us and duration == original.duration_us:
            append(original)
        else:
            append(Event(start, duration, original.data, original.id))
    return result
