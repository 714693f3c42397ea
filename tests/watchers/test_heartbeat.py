"""The pure rules: merge, pre-merge, pulsetimes, backoff, wire format."""

from __future__ import annotations

import pytest

from watchers.heartbeat import (
    US_PER_S,
    Event,
    afk_pulsetime,
    backoff_delay,
    iso_to_us,
    merge,
    premerge,
    s_to_us,
    us_to_iso,
    window_pulsetime,
)

T0 = 1_700_000_000 * US_PER_S
A = {"app": "a", "title": "x"}
B = {"app": "b", "title": "y"}


def ev(offset_s: float, duration_s: float = 0.0, data: dict[str, str] | None = None) -> Event:
    return Event(T0 + s_to_us(offset_s), s_to_us(duration_s), A if data is None else data)


class TestMerge:
    def test_extends_within_pulsetime(self) -> None:
        merged = merge(ev(0, 1), ev(2.5), s_to_us(2))
        assert merged == ev(0, 2.5)

    def test_boundary_is_inclusive(self) -> None:
        assert merge(ev(0, 1), ev(3), s_to_us(2)) == ev(0, 3)

    def test_too_late_does_not_merge(self) -> None:
        assert merge(ev(0, 1), ev(3.000001), s_to_us(2)) is None

    def test_earlier_heartbeat_does_not_merge(self) -> None:
        assert merge(ev(1, 1), ev(0.5), s_to_us(10)) is None

    def test_different_data_does_not_merge(self) -> None:
        assert merge(ev(0, 1), ev(1, data=B), s_to_us(10)) is None

    def test_heartbeat_inside_last_keeps_longer_duration(self) -> None:
        assert merge(ev(0, 10), ev(2, 1), s_to_us(1)) == ev(0, 10)

    def test_heartbeat_duration_extends(self) -> None:
        # The AFK watcher sends AFK heartbeats with duration = idle time.
        assert merge(ev(0, 0), ev(0.001, 30), s_to_us(185)) == ev(0, 30.001)

    def test_negative_duration_refused(self) -> None:
        assert merge(Event(T0, -1, A), ev(0), s_to_us(10)) is None


class TestPremerge:
    """aw-client's commit_interval behaviour, on a 1 Hz stream."""

    def run(self, beats: list[Event], commit: float = 10, pulse: float = 2) -> list[Event]:
        pending = None
        sent = []
        for beat in beats:
            step = premerge(pending, beat, s_to_us(pulse), s_to_us(commit))
            if step.send is not None:
                sent.append(step.send)
            pending = step.pending
        assert pending is not None
        return [*sent, pending]

    def test_first_heartbeat_only_cached(self) -> None:
        step = premerge(None, ev(0), s_to_us(2), s_to_us(10))
        assert step.send is None and step.pending == ev(0)

    def test_commits_every_interval(self) -> None:
        out = self.run([ev(i) for i in range(25)])
        assert out == [ev(0, 10), ev(10, 10), ev(20, 4)]

    def test_data_change_sends_previous(self) -> None:
        out = self.run([ev(0), ev(1), ev(2, data=B), ev(3, data=B)])
        assert out == [ev(0, 1), ev(2, 1, B)]

    def test_gap_longer_than_pulsetime_splits(self) -> None:
        assert self.run([ev(0), ev(1), ev(10)]) == [ev(0, 1), ev(10)]

    def test_server_merge_of_committed_pieces_is_seamless(self) -> None:
        """Pieces sent at commit time re-merge on the server into the same total."""
        pieces = self.run([ev(i) for i in range(31)])
        total = pieces[0]
        for piece in pieces[1:]:
            merged = merge(total, piece, s_to_us(2))
            assert merged is not None
            total = merged
        assert total == ev(0, 30)


def test_pulsetimes() -> None:
    assert window_pulsetime(1.0) == 2.0
    assert window_pulsetime(5.0) == 7.5
    assert window_pulsetime(0.5) == 1.5
    assert afk_pulsetime(180, 5) == 185
    assert afk_pulsetime(20, 1) == 21


@pytest.mark.parametrize(("failures", "expected"),
                         [(0, 0.0), (1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (500, 5.0)])
def test_backoff(failures: int, expected: float) -> None:
    assert backoff_delay(failures, base=0.5, cap=5.0) == expected


def test_event_wire_and_disk_formats() -> None:
    event = Event(T0 + 123_456, 1_500_000, {"title": "Ünï — 日本"})
    assert event.to_json() == {"timestamp": "2023-11-14T22:13:20.123456+00:00",
                               "duration": 1.5, "data": {"title": "Ünï — 日本"}}
    assert Event.loads(event.dumps()) == event
    assert iso_to_us(us_to_iso(T0 + 7)) == T0 + 7
    assert iso_to_us("2023-11-14T22:13:20Z") == T0
    assert iso_to_us("2023-11-14T22:13:20") == T0
