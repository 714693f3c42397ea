from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server.models import Event
from aw_server.transform import chunk_events_by_key, merge_events_by_keys, sum_durations
from tests.aw_server.transform.builders import T0, ev, spans, spans_data
from tests.aw_server.transform.strategies import event_lists

# merge_events_by_keys


def test_merge_sums_durations_per_key_combination_in_first_seen_order() -> None:
    events = [
        ev(0, 10, 1, app="a", title="x"),
        ev(10, 5, 2, app="b", title="y"),
        ev(15, 7, 3, app="a", title="x"),
        ev(22, 1, 4, app="a", title="z"),
    ]
    out = merge_events_by_keys(events, ["app", "title"])
    assert [(e.data, e.duration, e.id) for e in out] == [
        ({"app": "a", "title": "x"}, 17.0, None),
        ({"app": "b", "title": "y"}, 5.0, None),
        ({"app": "a", "title": "z"}, 1.0, None),
    ]
    assert out[0].timestamp_us == T0  # timestamp of the group's first event


def test_merged_events_carry_only_the_grouping_keys() -> None:
    out = merge_events_by_keys([ev(0, 1, app="a", title="x", url="u")], ["app"])
    assert [e.data for e in out] == [{"app": "a"}]


def test_events_missing_a_key_form_their_own_group() -> None:
    events = [ev(0, 1, app="a"), ev(1, 2, app="a", title="x"), ev(3, 4, title="x"), ev(7, 8)]
    out = merge_events_by_keys(events, ["app", "title"])
    assert [(e.data, e.duration) for e in out] == [
        ({"app": "a"}, 1.0),
        ({"app": "a", "title": "x"}, 2.0),
        ({"title": "x"}, 4.0),
        ({}, 8.0),
    ]


def test_same_value_under_different_missing_keys_is_not_merged() -> None:
    # aw-core keys groups by the tuple of present values only, which would join these.
    out = merge_events_by_keys([ev(0, 1, app="x"), ev(1, 1, title="x")], ["app", "title"])
    assert [e.data for e in out] == [{"app": "x"}, {"title": "x"}]


def test_list_values_such_as_category_paths_group_by_value() -> None:
    events = [ev(0, 2), ev(2, 3), ev(5, 4), ev(9, 1)]
    values: list[Any] = [["Work", "Prog"], ["Work"], ["Work", "Prog"], {"odd": ["dict"]}]
    for event, category in zip(events, values, strict=True):
        event.data = {"$category": category}
    out = merge_events_by_keys(events, ["$category"])
    assert [(e.data["$category"], e.duration) for e in out] == [
        (["Work", "Prog"], 6.0),
        (["Work"], 3.0),
        ({"odd": ["dict"]}, 1.0),
    ]


def test_merge_with_no_keys_returns_the_events_unchanged() -> None:
    events = [ev(0, 1, app="a"), ev(1, 1, app="a")]
    assert merge_events_by_keys(events, []) == events


def test_unicode_values_are_grouped_exactly() -> None:
    out = merge_events_by_keys([ev(0, 1, t="café"), ev(1, 1, t="cafe\u0301")], ["t"])
    assert len(out) == 2  # no normalisation: different code points, different groups


@settings(max_examples=150, deadline=None)
@given(event_lists(), st.sampled_from([["app"], ["app", "title"], ["title"]]))
def test_merge_preserves_total_duration_of_events_carrying_the_keys(
    events: list[Event], keys: list[str]
) -> None:
    carrying = [e for e in events if all(k in e.data for k in keys)]
    merged = merge_events_by_keys(events, keys)
    merged_carrying = [e for e in merged if all(k in e.data for k in keys)]
    assert sum_durations(merged_carrying) == sum_durations(carrying)
    assert sum_durations(merged) == sum_durations(events)


# chunk_events_by_key


def test_chunk_joins_consecutive_same_value_events_with_subevents() -> None:
    events = [ev(0, 5, app="a"), ev(5, 5, app="a"), ev(12, 2, app="b"), ev(14, 1, app="a")]
    out = chunk_events_by_key(events, "app")
    assert [(e.data["app"], e.duration, len(e.data["subevents"])) for e in out] == [
        ("a", 10.0, 2),
        ("b", 2.0, 1),
        ("a", 1.0, 1),
    ]
    assert out[0].data["subevents"][1] == events[1].to_json()


def test_chunk_does_not_join_across_a_gap_of_pulsetime_or_more() -> None:
    out = chunk_events_by_key([ev(0, 5, app="a"), ev(10, 5, app="a")], "app")
    assert spans(out) == [(0, 5), (10, 15)]


def test_chunk_stops_at_the_first_event_without_the_key() -> None:
    out = chunk_events_by_key([ev(0, 5, app="a"), ev(5, 5, title="t"), ev(10, 5, app="b")], "app")
    assert spans_data(out)[0][:2] == (0, 5)
    assert len(out) == 1
