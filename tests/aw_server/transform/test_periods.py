from __future__ import annotations

from hypothesis import given, settings

from aw_server.models import Event
from aw_server.transform import (
    filter_period_intersect,
    period_union,
    sort_by_timestamp,
    sum_durations,
    union_no_overlap,
)
from tests.aw_server.transform.builders import ev, spans, spans_data
from tests.aw_server.transform.strategies import (
    contains,
    coverage,
    covered_length,
    event_lists,
    overlap_total,
)

# filter_period_intersect


def test_intersect_keeps_only_parts_inside_filter_events() -> None:
    events = [ev(2, 7, app="x"), ev(17, 8, app="y")]
    filters = [ev(0, 6), ev(8, 3), ev(14, 3), ev(20, 4)]
    out = filter_period_intersect(events, filters)
    assert spans_data(out) == [(2, 6, {"app": "x"}), (8, 9, {"app": "x"}), (20, 24, {"app": "y"})]


def test_intersect_keeps_event_ids_and_ignores_filter_data() -> None:
    out = filter_period_intersect([ev(0, 10, 5, app="x")], [ev(2, 3, 9, status="not-afk")])
    assert [(e.id, e.data) for e in out] == [(5, {"app": "x"})]


def test_intersect_of_touching_spans_is_empty() -> None:
    assert filter_period_intersect([ev(0, 10, app="x")], [ev(10, 5)]) == []


def test_zero_duration_event_inside_or_on_edge_of_filter_is_kept() -> None:
    # aw-core's timeslot containment is closed at both ends.
    out = filter_period_intersect([ev(3, 0, app="x"), ev(10, 0, app="y")], [ev(0, 10)])
    assert spans(out) == [(3, 3), (10, 10)]


def test_intersect_sorts_unsorted_inputs() -> None:
    events = [ev(20, 10, app="b"), ev(0, 10, app="a")]
    filters = [ev(25, 10), ev(5, 20)]
    assert spans(filter_period_intersect(events, filters)) == [(5, 10), (20, 25), (25, 30)]


def test_event_crossing_midnight_is_cut_at_filter_edges() -> None:
    # T0 is 23:59:00, so the event runs from 23:59:30 to 00:01:30.
    out = filter_period_intersect([ev(30, 120, app="x")], [ev(0, 60), ev(70, 600)])
    assert spans(out) == [(30, 60), (70, 150)]
    assert out[1].to_json()["timestamp"].startswith("2024-03-10T00:00:10")


def test_intersect_with_empty_filter_is_empty() -> None:
    assert filter_period_intersect([ev(0, 10, app="x")], []) == []


@settings(max_examples=150, deadline=None)
@given(event_lists(), event_lists())
def test_intersect_output_lies_inside_both_inputs(events: list[Event], fl: list[Event]) -> None:
    pieces = coverage(filter_period_intersect(events, fl))
    assert contains(coverage(events), pieces)
    assert contains(coverage(fl), pieces)


@settings(max_examples=150, deadline=None)
@given(event_lists(overlapping=False), event_lists(overlapping=False))
def test_intersect_covers_exactly_the_common_time(events: list[Event], fl: list[Event]) -> None:
    common = 0
    for a, b in coverage(events):
        for c, d in coverage(fl):
            common += max(0, min(b, d) - max(a, c))
    assert covered_length(coverage(filter_period_intersect(events, fl))) == common


# period_union


def test_union_joins_overlapping_and_touching_spans_and_drops_data() -> None:
    events1 = [ev(2, 7, app="x"), ev(16, 9, app="y")]
    events2 = [ev(0, 6), ev(8, 3), ev(13, 2), ev(19, 4)]
    out = period_union(events1, events2)
    assert spans(out) == [(0, 11), (13, 15), (16, 25)]
    assert all(e.data == {} for e in out)


def test_union_of_adjacent_events_is_one_event_with_the_first_id() -> None:
    out = period_union([ev(0, 5, 1, app="x")], [ev(5, 5, 2, app="y")])
    assert [(s, t, e.id) for (s, t), e in zip(spans(out), out, strict=True)] == [(0, 10, 1)]


def test_union_of_nothing_is_empty() -> None:
    assert period_union([], []) == []


@settings(max_examples=150, deadline=None)
@given(event_lists(), event_lists())
def test_union_covers_both_inputs_without_overlap(e1: list[Event], e2: list[Event]) -> None:
    out = period_union(e1, e2)
    assert coverage(out) == coverage(e1 + e2)
    assert overlap_total(out) == 0


@settings(max_examples=150, deadline=None)
@given(event_lists(), event_lists())
def test_sum_of_union_is_at_most_sum_of_parts(e1: list[Event], e2: list[Event]) -> None:
    assert sum_durations(period_union(e1, e2)) <= sum_durations(e1) + sum_durations(e2)


# union_no_overlap


def test_union_no_overlap_cuts_the_second_list_around_the_first() -> None:
    events1 = [ev(0, 3, app="x"), ev(7, 2, app="x"), ev(14, 3, app="x")]
    events2 = [ev(1, 4, app="-"), ev(10, 6, app="-"), ev(19, 2, app="-")]
    out = union_no_overlap(events1, events2)
    assert [(s, t, e.data["app"]) for (s, t), e in zip(spans(out), out, strict=True)] == [
        (0, 3, "x"), (3, 5, "-"), (7, 9, "x"), (10, 14, "-"), (14, 17, "x"), (19, 21, "-"),
    ]


def test_union_no_overlap_splits_a_second_list_event_around_a_first_list_event() -> None:
    out = union_no_overlap([ev(5, 2, app="x")], [ev(0, 10, 4, app="-")])
    assert spans(out) == [(0, 5), (5, 7), (7, 10)]
    assert [e.id for e in out] == [4, None, 4]


def test_union_no_overlap_removes_every_second_list_event_a_long_first_event_covers() -> None:
    # A one-hour stopwatch entry over many window events (aw-core leaves all but the
    # first overlapping; see docs/query.md).
    stopwatch = [ev(0, 3600, app="stopwatch")]
    windows = [
        ev(-10, 20, app="a"), ev(10, 30, app="b"), ev(50, 10, app="c"), ev(3590, 20, app="d")
    ]
    out = union_no_overlap(stopwatch, windows)
    assert [(s, t, e.data["app"]) for (s, t), e in zip(spans(out), out, strict=True)] == [
        (-10, 0, "a"), (0, 3600, "stopwatch"), (3600, 3610, "d"),
    ]


def test_union_no_overlap_keeps_event_touched_by_zero_duration_first_event() -> None:
    # aw-core drops the second event here; keeping it loses no data (docs/query.md).
    out = union_no_overlap([ev(5, 0, app="x")], [ev(5, 10, app="-")])
    assert spans(out) == [(5, 5), (5, 15)]


@settings(max_examples=150, deadline=None)
@given(event_lists(overlapping=False), event_lists(overlapping=False))
def test_union_no_overlap_covers_both_and_keeps_first_list_intact(
    e1: list[Event], e2: list[Event]
) -> None:
    e1, e2 = sort_by_timestamp(e1), sort_by_timestamp(e2)
    out = union_no_overlap(e1, e2)
    assert overlap_total(out) == 0
    assert coverage(out) == coverage(e1 + e2)
    assert all(any(o is e for o in out) for e in e1)
