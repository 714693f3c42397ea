from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import given, settings

from aw_server.models import Event
from aw_server.transform import flood
from tests.aw_server.transform.builders import T0, ev, spans, spans_data
from tests.aw_server.transform.strategies import (
    contains,
    coverage,
    event_lists,
    overlap_total,
)


def test_longer_event_grows_forward_over_small_gap() -> None:
    out = flood([ev(0, 10, app="a"), ev(12, 3, app="b")])
    assert spans_data(out) == [(0, 12, {"app": "a"}), (12, 15, {"app": "b"})]


def test_longer_later_event_grows_backward_over_small_gap() -> None:
    out = flood([ev(0, 3, app="a"), ev(5, 10, app="b")])
    assert spans(out) == [(0, 3), (3, 15)]


def test_equal_durations_favour_the_earlier_event() -> None:
    assert spans(flood([ev(0, 5, app="a"), ev(7, 5, app="b")])) == [(0, 7), (7, 12)]


def test_same_data_neighbours_merge_into_one_event() -> None:
    out = flood([ev(0, 10, app="a"), ev(12, 3, app="a")])
    assert spans_data(out) == [(0, 15, {"app": "a"})]


def test_same_data_merge_keeps_the_earlier_start_when_second_is_longer() -> None:
    assert spans(flood([ev(0, 2, app="a"), ev(4, 10, app="a")])) == [(0, 14)]


def test_gap_longer_than_pulsetime_is_left_open() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(15.5, 4, app="b")])) == [(0, 10), (15.5, 19.5)]


def test_gap_of_exactly_pulsetime_is_filled() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(15, 4, app="b")])) == [(0, 15), (15, 19)]


def test_custom_pulsetime_changes_which_gaps_are_filled() -> None:
    events = [ev(0, 10, app="a"), ev(15, 4, app="b")]
    assert spans(flood(events, pulsetime_us=4_000_000)) == [(0, 10), (15, 19)]
    assert spans(flood(events, pulsetime_us=60_000_000)) == [(0, 15), (15, 19)]


def test_overlapping_events_with_same_data_merge() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(5, 15, app="a")])) == [(0, 20)]


def test_contained_event_with_same_data_is_absorbed() -> None:
    assert spans(flood([ev(0, 30, app="a"), ev(5, 5, app="a")])) == [(0, 30)]


def test_large_overlap_with_different_data_is_left_alone() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(5, 15, app="b")])) == [(0, 10), (5, 20)]


def test_tiny_overlap_with_different_data_is_trimmed() -> None:
    out = flood([ev(0, 10, app="a"), ev(9.95, 10.05, app="b")])
    assert spans(out) == [(0, 10), (10, 20)]


def test_absorbed_zero_duration_events_do_not_duplicate_time() -> None:
    # aw-core turns this into two copies of [0, 0.5): the second zero-duration event
    # re-merges the already absorbed first one back over the real event.
    out = flood([ev(0, 0.5, app="a"), ev(0, 0, app="a"), ev(0, 0, app="a")])
    assert spans(out) == [(0, 0.5)]


def test_zero_duration_event_inside_another_does_not_block_flooding() -> None:
    # aw-core pairs the hidden instant with its neighbours and leaves the gap open.
    out = flood([ev(0, 10, app="x"), ev(5, 0, app="y"), ev(12, 8, app="x")])
    assert spans(out) == [(0, 20)]


def test_zero_duration_events_are_dropped() -> None:
    assert flood([ev(0, 0, app="a")]) == []
    assert spans(flood([ev(0, 0, app="a"), ev(30, 2, app="b")])) == [(30, 32)]


def test_empty_input_gives_empty_output() -> None:
    assert flood([]) == []


def test_newest_first_input_comes_out_oldest_first() -> None:
    out = flood([ev(22, 5, app="c"), ev(11, 5, app="b"), ev(0, 5, app="a")])
    assert [e.data["app"] for e in out] == ["a", "b", "c"]
    assert spans(out) == [(0, 5), (11, 16), (22, 27)]


def test_flooding_across_midnight_keeps_exact_microseconds() -> None:
    # T0 is 23:59:00; the gap between the events straddles midnight.
    out = flood([ev(0, 58.5, app="a"), ev(61.25, 100, app="b")])
    assert spans(out) == [(0, 58.5), (58.5, 161.25)]
    assert out[1].to_json()["timestamp"] == "2024-03-09T23:59:58.500000+00:00"


def test_ids_survive_and_input_is_not_modified() -> None:
    first, second = ev(0, 10, 7, app="a"), ev(12, 3, 8, app="b")
    out = flood([first, second])
    assert [e.id for e in out] == [7, 8]
    assert (first.timestamp_us, first.duration_us) == (T0, 10_000_000)
    assert out[1] is second  # unchanged events are passed through, not copied


def test_unicode_data_compares_by_value() -> None:
    out = flood([ev(0, 3, title="日本語 ●"), ev(4, 3, title="日本語 ●")])
    assert spans_data(out) == [(0, 7, {"title": "日本語 ●"})]


@settings(max_examples=150, deadline=None)
@given(event_lists(overlapping=False))
def test_flood_never_creates_overlap(events: list[Event]) -> None:
    assert overlap_total(flood(events)) == 0


@settings(max_examples=150, deadline=None)
@given(event_lists())
def test_flood_never_shrinks_coverage(events: list[Event]) -> None:
    assert contains(coverage(flood(events)), coverage(events))


@settings(max_examples=100, deadline=None)
@given(event_lists())
def test_flood_output_is_sorted_and_has_no_empty_events(events: list[Event]) -> None:
    out = flood(events)
    assert all(e.duration_us > 0 for e in out)
    assert [e.timestamp_us for e in out] == sorted(e.timestamp_us for e in out)


def _pairwise_oracle(events: list[Event], pulsetime_us: int = 5_000_000) -> list[Any]:
    """A literal, slow transcription of aw-core's rule (mutate neighbouring pairs in
    order) plus the two documented fixes: zero-duration events inside an earlier event
    are ignored, and a merge never reaches back before the end of the last non-empty
    event before the pair."""
    spans_: list[list[Any]] = []
    covered = -(2**63)
    for e in sorted(events, key=lambda e: e.timestamp_us):
        if e.duration_us == 0 and e.timestamp_us < covered:
            continue  # second documented fix: instants hidden inside an earlier event
        covered = max(covered, e.end_us)
        spans_.append([e.timestamp_us, e.duration_us, e.data])
    floor = -(2**63)
    for first, second in pairwise(spans_):
        gap = second[0] - (first[0] + first[1])
        if gap == 0:
            pass
        elif gap < 0 and first[2] == second[2]:
            start = min(first[0], second[0])
            if second[0] < first[0]:
                start = max(start, floor)
            end = max(first[0] + first[1], second[0] + second[1])
            first[0], first[1], second[0], second[1] = start, max(end - start, 0), end, 0
        elif -100_000 < gap <= pulsetime_us:
            same = first[2] == second[2]
            end2 = second[0] + second[1]
            if first[1] >= second[1]:
                if same:
                    first[1], second[0], second[1] = end2 - first[0], end2, 0
                else:
                    first[1] = second[0] - first[0]
            elif same:
                second[0], second[1], first[1] = first[0], end2 - first[0], 0
            else:
                second[0] = first[0] + first[1]
                second[1] = end2 - second[0]
        if first[1] > 0:
            floor = first[0] + first[1]
    return [(s, d, data) for s, d, data in spans_ if d > 0]


@settings(max_examples=200, deadline=None)
@given(event_lists())
def test_flood_matches_the_pairwise_rule(events: list[Event]) -> None:
    expected = sorted(_pairwise_oracle(events), key=lambda span: span[0])  # see flood()
    assert [(e.timestamp_us, e.duration_us, e.data) for e in flood(events)] == expected
