"""Wire parsing of events: what is accepted, what is refused and how."""

from __future__ import annotations

import pytest

from aw_server.errors import BadRequest
from aw_server.models import Event, format_us, parse_duration, parse_timestamp


@pytest.mark.parametrize("text", ["2024-01-01T10:00:00Z", "2024-01-01T10:00:00+00:00",
                                  "2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00",
                                  "2024-01-01T10:00:00 00:00"])
def test_timestamp_forms_all_mean_the_same_instant(text: str) -> None:
    assert format_us(parse_timestamp(text)) == "2024-01-01T10:00:00+00:00"


@pytest.mark.parametrize("value", [1e308, float("inf"), float("nan"), -1, "5", True, None])
def test_bad_durations_are_refused_cleanly(value: object) -> None:
    """1e308 once overflowed to infinity inside the conversion and became a 500."""
    with pytest.raises(BadRequest):
        parse_duration(value)


def test_duration_keeps_microseconds() -> None:
    assert parse_duration(1.000001) == 1_000_001
    assert Event.from_json({"timestamp": "2024-01-01T00:00:00Z", "duration": 0.5}).duration == 0.5


@pytest.mark.parametrize("obj", [{"timestamp": "0000-01-01T00:00:00Z"},
                                 {"timestamp": "9999-12-31T23:59:59Z", "duration": 10},
                                 {"duration": 1}, [], {"timestamp": "x"}])
def test_unrepresentable_or_malformed_events_are_refused(obj: object) -> None:
    with pytest.raises(BadRequest):
        Event.from_json(obj)
