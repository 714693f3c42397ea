"""Terse event builders for hand-worked transform cases (times in whole seconds)."""

from __future__ import annotations

from typing import Any

from aw_server.models import US_PER_S, Event

# 2024-03-09T23:59:00Z: a minute before midnight, so cases can cross a day boundary.
T0 = 1_710_028_740 * US_PER_S


def ev(start_s: float, duration_s: float, event_id: int | None = None, **data: Any) -> Event:
    return Event(T0 + round(start_s * US_PER_S), round(duration_s * US_PER_S), data, event_id)


def spans(events: list[Event]) -> list[tuple[float, float]]:
    """(start, end) in seconds relative to T0, for readable assertions."""
    return [
        ((e.timestamp_us - T0) / US_PER_S, (e.end_us - T0) / US_PER_S) for e in events
    ]


def spans_data(events: list[Event]) -> list[tuple[float, float, dict[str, Any]]]:
    return [(s, t, e.data) for (s, t), e in zip(spans(events), events, strict=True)]
