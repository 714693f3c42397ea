from __future__ import annotations

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


def test_gap_between_different_data_is_split_at_its_midpoint() -> None:
    out = flood([ev(0, 10, app="a"), ev(12, 3, app="b")])
    assert spans_data(out) == [(0, 11, {"app": "a"}), (11, 15, {"app": "b"})]


def test_midpoint_does_not_depend_on_which_neighbour_is_longer() -> None:
    assert spans(flood([ev(0, 3, app="a"), ev(5, 10, app="b")])) == [(0, 4), (4, 15)]


def test_half_second_gap_gives_each_app_a_quarter_second() -> None:
    # Firefox at 09:10:00 for 300.5 s, Terminal at 09:15:01 for 240 s: ActivityWatch
    # gives Firefox 300.75 s and Terminal 240.25 s from 09:15:00.750.
    out = flood([ev(0, 300.5, app="Firefox"), ev(301, 240, app="Terminal")])
    assert [e.duration_us for e in out] == [300_750_000, 240_250_000]
    assert spans(out)[1] == (300.75, 541)


def test_split_then_merge_with_an_equal_neighbour() -> None:
    # aw-core 0.5.18 and aw-server-rust: [a 10.25 s, b from 10.25 for 18.25 s].
    out = flood([ev(0, 10, app="a"), ev(10.5, 10, app="b"), ev(23.5, 5, app="b")])
    assert spans_data(out) == [(0, 10.25, {"app": "a"}), (10.25, 28.5, {"app": "b"})]


def test_midpoint_keeps_microseconds() -> None:
    # aw-core truncates the moved start to 10.000 s (and b then ends 0.5 ms early).
    out = flood([ev(0, 10, app="a"), ev(10.001, 10, app="b")])
    assert spans(out) == [(0, 10.0005), (10.0005, 20.001)]


def test_odd_microsecond_gap_rounds_half_to_even_like_timedelta() -> None:
    out = flood([ev(0, 1, app="a"), ev(1.000003, 1, app="b"), ev(2.000008, 1, app="a")])
    # Gaps of 3 µs and 5 µs: halves of 1.5 and 2.5 round to 2 and 2.
    assert [e.timestamp_us - T0 for e in out] == [0, 1_000_002, 2_000_005]


def test_gap_of_exactly_pulsetime_after_a_split_is_filled() -> None:
    # In aw-core the ms truncation of b's start leaves b 0.5 ms short, the gap after it
    # is then 5.0005 s and stays open.
    out = flood([ev(0, 10, app="a"), ev(10.001, 10, app="b"), ev(25.001, 5, app="c")])
    assert spans(out) == [(0, 10.0005), (10.0005, 22.501), (22.501, 30.001)]


def test_same_data_neighbours_merge_into_one_event() -> None:
    out = flood([ev(0, 10, app="a"), ev(12, 3, app="a")])
    assert spans_data(out) == [(0, 15, {"app": "a"})]


def test_same_data_merge_keeps_the_longer_events_id_and_the_earlier_start() -> None:
    out = flood([ev(0, 2, 1, app="a"), ev(4, 10, 2, app="a")])
    assert spans(out) == [(0, 14)]
    assert out[0].id == 2


def test_touching_same_data_events_stay_two_events() -> None:
    # As aw-core 0.5.18 (aw-server-rust merges them).
    assert spans(flood([ev(0, 10, app="a"), ev(10, 5, app="a")])) == [(0, 10), (10, 15)]


def test_gap_longer_than_pulsetime_is_left_open() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(15.5, 4, app="b")])) == [(0, 10), (15.5, 19.5)]


def test_gap_of_exactly_pulsetime_is_filled() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(15, 4, app="b")])) == [(0, 12.5), (12.5, 19)]


def test_custom_pulsetime_changes_which_gaps_are_filled() -> None:
    events = [ev(0, 10, app="a"), ev(15, 4, app="b")]
    assert spans(flood(events, pulsetime_us=4_000_000)) == [(0, 10), (15, 19)]
    assert spans(flood(events, pulsetime_us=60_000_000)) == [(0, 12.5), (12.5, 19)]


def test_overlapping_events_with_same_data_merge() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(5, 15, app="a")])) == [(0, 20)]


def test_contained_event_with_same_data_is_absorbed() -> None:
    assert spans(flood([ev(0, 30, app="a"), ev(5, 5, app="a")])) == [(0, 30)]


def test_large_overlap_with_different_data_goes_to_the_later_event() -> None:
    assert spans(flood([ev(0, 10, app="a"), ev(5, 15, app="b")])) == [(0, 5), (5, 20)]


def test_event_inside_one_with_other_data_cuts_it_short() -> None:
    # aw-core 0.5.18's rule: the rest of the outer event is dropped (aw-server-rust
    # leaves both events overlapping).
    out = flood([ev(0, 30, app="a"), ev(5, 5, app="b")])
    assert spans_data(out) == [(0, 5, {"app": "a"}), (5, 10, {"app": "b"})]


def test_tiny_overlap_with_different_data_is_split_at_its_midpoint() -> None:
    out = flood([ev(0, 10, app="a"), ev(9.95, 10.05, app="b")])
    assert spans(out) == [(0, 9.975), (9.975, 20)]


def test_absorbed_zero_duration_events_do_not_duplicate_time() -> None:
    # The empty events sort first (ties: shorter first) and take no part; aw-core up to
    # 0.5.17 sorted by start only and returned [0, 0.5) twice here.
    out = flood([ev(0, 0.5, app="a"), ev(0, 0, app="a"), ev(0, 0, app="a")])
    assert spans(out) == [(0, 0.5)]


def test_zero_duration_event_inside_another_does_not_block_flooding() -> None:
    # aw-core pairs the hidden instant with its neighbours and leaves the gap open.
    out = flood([ev(0, 10, app="x"), ev(5, 0, app="y"), ev(12, 8, app="z")])
    assert spans(out) == [(0, 11), (11, 20)]


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
    assert spans(out) == [(0, 59.875), (59.875, 161.25)]
    assert out[1].to_json()["timestamp"] == "2024-03-09T23:59:59.875000+00:00"


def test_ids_survive_and_input_is_not_modified() -> None:
    first, second, third = ev(0, 10, 7, app="a"), ev(12, 3, 8, app="b"), ev(30, 1, 9, app="c")
    out = flood([first, second, third])
    assert [e.id for e in out] == [7, 8, 9]
    assert (first.timestamp_us, first.duration_us) == (T0, 10_000_000)
    assert (second.timestamp_us, second.duration_us) == (T0 + 12_000_000, 3_000_000)
    assert out[2] is third  # unchanged events are passed through, not copied


def test_unicode_data_compares_by_value() -> None:
    out = flood([ev(0, 3, title="日本語 ●"), ev(4, 3, title="日本語 ●")])
    assert spans_data(out) == [(0, 7, {"title": "日本語 ●"})]


@settings(max_examples=150, deadline=None)
@given(event_lists())
def test_flood_never_leaves_overlap(events: list[Event]) -> None:
    assert overlap_total(flood(events)) == 0


@settings(max_examples=150, deadline=None)
@given(event_lists(overlapping=False))
def test_flood_never_shrinks_coverage_of_a_watcher_bucket(events: list[Event]) -> None:
    assert contains(coverage(flood(events)), coverage(events))


@settings(max_examples=100, deadline=None)
@given(event_lists())
def test_flood_output_is_sorted_and_has_no_empty_events(events: list[Event]) -> None:
    out = flood(events)
    assert all(e.duration_us > 0 for e in out)
    assert [e.timestamp_us for e in out] == sorted(e.timestamp_us for e in out)
