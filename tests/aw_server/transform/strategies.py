"""Hypothesis strategies for event lists (small integers keep shrinking readable)."""

from __future__ import annotations

from hypothesis import strategies as st

from aw_server.models import Event

US = 1_000_000


@st.composite
def event_lists(draw: st.DrawFn, *, max_size: int = 12, overlapping: bool = True) -> list[Event]:
    """Events on a coarse grid (half seconds, up to ~1 min), data drawn from 3 values.

    With `overlapping=False` the events are laid end to end with gaps, as one watcher
    bucket stores them.
    """
    count = draw(st.integers(0, max_size))
    events = []
    cursor = 0
    for _ in range(count):
        duration = draw(st.integers(0, 20)) * US // 2
        if overlapping:
            start = draw(st.integers(0, 120)) * US // 2
        else:
            start = cursor + draw(st.integers(0, 16)) * US // 2
            cursor = start + duration
        data = {"app": draw(st.sampled_from(["a", "b", "c"]))}
        events.append(Event(start, duration, data))
    if draw(st.booleans()):
        events.reverse()  # storage hands events newest first
    return events


def coverage(events: list[Event]) -> list[tuple[int, int]]:
    """The union of the events' spans as sorted disjoint intervals (zero-length ignored)."""
    merged: list[list[int]] = []
    for start, end in sorted((e.timestamp_us, e.end_us) for e in events if e.duration_us > 0):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, t) for s, t in merged]


def covered_length(intervals: list[tuple[int, int]]) -> int:
    return sum(t - s for s, t in intervals)


def contains(outer: list[tuple[int, int]], inner: list[tuple[int, int]]) -> bool:
    """Every inner interval lies inside one outer interval (both disjoint and sorted)."""
    return all(any(s <= a and b <= t for s, t in outer) for a, b in inner)


def overlap_total(events: list[Event]) -> int:
    """Sum of pairwise overlaps: zero exactly when no two events overlap."""
    total = 0
    ordered = sorted(events, key=lambda e: e.timestamp_us)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            end = min(first.end_us, second.end_us)
            total += max(0, end - max(first.timestamp_us, second.timestamp_us))
    return total
