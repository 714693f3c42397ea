"""The columnar transforms give exactly the list transforms' answers: same events, same
order, same spans, ids and data. Hypothesis draws small tricky lists; seeded random runs
draw long ones, where flood's chains of dependent steps get long."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server import transform
from aw_server.event_table import EventTable
from aw_server.models import Event
from aw_server.query.functions import _compile_classes
from aw_server.transform import columnar
from aw_server.transform.flood import _without_hidden_instants

US = 1_000_000
# Equal dicts that are different objects, and dicts equal by value but not by text.
DATAS: list[dict[str, Any]] = [
    {"app": "a", "title": "x"},
    {"app": "a", "title": "x"},
    {"title": "x", "app": "a"},
    {"app": "b", "title": "Stack Overflow - ✓"},
    {"app": "c", "n": 1},
    {"app": "c", "n": 1.0},
    {"app": "d", "tags": ["x", 1]},
    {"app": "d", "tags": [["x", 1]]},
    {"app": "d", "tags": {"x": 1}},
    {"status": "not-afk"},
    {},
]


@st.composite
def tricky_events(draw: st.DrawFn, max_size: int = 14) -> list[Event]:
    """Events on a fine grid around pulsetime and the 100 ms trim, with repeats of data."""
    count = draw(st.integers(0, max_size))
    events = []
    cursor = 0
    for index in range(count):
        gap = draw(st.sampled_from([0, 1, 50_000, -50_000, -150_000, 2 * US, 5 * US, 6 * US,
                                    -3 * US]))
        duration = draw(st.sampled_from([0, 1, 30_000, US, 3 * US, 7 * US, 40 * US]))
        start = cursor + gap
        cursor = max(cursor, start + duration)
        data = DATAS[draw(st.integers(0, len(DATAS) - 1))]
        event_id = draw(st.one_of(st.none(), st.just(1000 + index)))
        events.append(Event(start, duration, data, event_id))
    if draw(st.booleans()):
        events.reverse()
    return events


def rows(events: list[Event] | EventTable) -> list[tuple[int, int, Any, int | None]]:
    if isinstance(events, EventTable):
        events = events.to_events()
    return [(e.timestamp_us, e.duration_us, e.data, e.id) for e in events]


def long_events(seed: int, count: int = 3000, values: int = 4) -> list[Event]:
    """Watcher-like: mostly back to back, small jitter, repeats of a few data dicts, and
    tiny overlaps only between different data (a heartbeat merges equal data)."""
    rng = random.Random(seed)
    datas = [{"app": f"a{i}"} for i in range(values)]
    events: list[Event] = []
    cursor = 0
    for _ in range(count):
        data = rng.choice(datas)
        gap = rng.choice([0, rng.randint(1, 2 * US), rng.randint(2 * US, 8 * US),
                          -rng.randint(1, 90_000)])
        if gap < 0 and (not events or events[-1].data is data
                        or events[-1].duration_us < 200_000):
            gap = -gap  # overlap only the previous event, and only with other data
        duration = rng.choice([rng.randint(1, 4 * US), rng.randint(1, 60 * US)])
        events.append(Event(cursor + gap, duration, data, rng.randint(1, 10**9)))
        cursor += gap + duration
    events.reverse()
    return events


@settings(max_examples=400, deadline=None)
@given(tricky_events(), st.sampled_from([0, 1, 5 * US, 10 * US]))
def test_columnar_flood_equals_list_flood_or_declines(events: list[Event], pulse: int) -> None:
    table = columnar.flood(EventTable.from_events(events), pulse)
    if table is None:
        # Declined only for overlapping equal-data neighbours (once the zero-duration
        # events flood ignores are gone), which the list version has its own rules for.
        ordered = _without_hidden_instants(
            sorted(events, key=lambda e: (e.timestamp_us, e.duration_us)))
        assert any(
            a.data == b.data and b.timestamp_us < a.end_us
            for a, b in itertools.pairwise(ordered)
        )
        return
    assert rows(table) == rows(transform.flood(events, pulse))


@pytest.mark.parametrize("seed", range(8))
def test_columnar_flood_equals_list_flood_on_long_watcher_like_runs(seed: int) -> None:
    events = long_events(seed)
    table = columnar.flood(EventTable.from_events(events), 5 * US)
    assert table is not None
    assert rows(table) == rows(transform.flood(events, 5 * US))


def test_columnar_flood_cuts_back_over_a_row_the_walk_left_behind() -> None:
    """The walk moves y's start past z's (a split of their 50 ms overlap); z then
    overlaps x although y, between them, does not: the last pass drops y and cuts x."""
    events = [Event(0, 10 * US, {"app": "x"}), Event(9_950_000, US, {"app": "y"}),
              Event(9_960_000, 5 * US, {"app": "z"})]
    expected = transform.flood(events, 5 * US)
    assert [(e.timestamp_us, e.end_us) for e in expected] == [(0, 9_960_000),
                                                              (9_960_000, 14_960_000)]
    table = columnar.flood(EventTable.from_events(events), 5 * US)
    assert table is not None
    assert rows(table) == rows(expected)


def merge_chain(count: int) -> list[Event]:
    """Each step's outcome depends on the one before, all the way down the list.

    Equal data, 0.1 s apart, each event 0.1 s longer than the one before. The first
    step lets the second event take the first one's span; from then on an event that
    took its predecessor's span is long enough to take its successor's (which is left
    empty), and the event after an emptied one takes the emptied one's place: a pattern
    no step can know before the step before it is settled.
    """
    events, cursor = [], 0
    for index in range(count):
        duration = (index + 1) * US // 10
        events.append(Event(cursor, duration, {"app": "a"}, index))
        cursor += duration + US // 10
    return events


def test_flood_chain_of_dependent_steps_resolves_over_many_rounds() -> None:
    events = merge_chain(200)
    expected = transform.flood(events, 5 * US)
    # Pairs of events became one, every pair touching the one before it.
    assert len(expected) == 100
    assert all(a.end_us == b.timestamp_us for a, b in itertools.pairwise(expected))
    table = columnar.flood(EventTable.from_events(events), 5 * US)
    assert table is not None
    assert rows(table) == rows(expected)


def test_flood_declines_beyond_the_round_limit() -> None:
    events = merge_chain(columnar.MAX_FLOOD_ROUNDS + 20)
    assert columnar.flood(EventTable.from_events(events), 5 * US) is None


@settings(max_examples=300, deadline=None)
@given(tricky_events(), tricky_events())
def test_columnar_intersect_equals_list_intersect_or_declines(
    events: list[Event], filters: list[Event]
) -> None:
    table = columnar.filter_period_intersect(
        EventTable.from_events(events), EventTable.from_events(filters)
    )
    expected = transform.filter_period_intersect(events, filters)
    if table is not None:
        assert rows(table) == rows(expected)


@pytest.mark.parametrize("seed", range(4))
def test_columnar_intersect_takes_flood_output_and_equals_the_list_version(seed: int) -> None:
    events = transform.flood(long_events(seed), 5 * US)
    rng = random.Random(seed)
    filters, cursor = [], events[0].timestamp_us - 10 * US
    for _ in range(60):
        length = rng.randint(1, 300 * US)
        filters.append(Event(cursor, length, {"status": "not-afk"}))
        cursor += length + rng.randint(0, 200 * US)
    table = columnar.filter_period_intersect(
        EventTable.from_events(events), EventTable.from_events(filters)
    )
    assert table is not None
    assert rows(table) == rows(transform.filter_period_intersect(events, filters))


@settings(max_examples=200, deadline=None)
@given(tricky_events(), st.lists(st.sampled_from(["a", "b", "c", 1, 1.0, True, None, ["x", 1]]),
                                 max_size=3), st.booleans())
def test_columnar_filter_keyvals_equals_list_version(
    events: list[Event], vals: list[Any], exclude: bool
) -> None:
    table = columnar.filter_keyvals(EventTable.from_events(events), "app", vals, exclude)
    assert rows(table) == rows(transform.filter_keyvals(events, "app", vals, exclude))
    by_tags = columnar.filter_keyvals(EventTable.from_events(events), "tags", vals, exclude)
    assert rows(by_tags) == rows(transform.filter_keyvals(events, "tags", vals, exclude))


@settings(max_examples=100, deadline=None)
@given(tricky_events(), st.sampled_from(["^a", "Over", "✓$", "[bc]"]))
def test_columnar_filter_keyvals_regex_equals_list_version(
    events: list[Event], source: str
) -> None:
    pattern = transform.compile_regex(source)
    table = columnar.filter_keyvals_regex(EventTable.from_events(events), "title", pattern)
    assert rows(table) == rows(transform.filter_keyvals_regex(events, "title", pattern))


RULES = [
    [["Work"], {"type": "regex", "regex": "a|Stack Overflow"}],
    [["Work", "Deep"], {"type": "regex", "regex": "^x$", "select_keys": ["title"]}],
    [["Fun"], {"type": "regex", "regex": "B", "ignore_case": True}],
    [["Never"], {"type": "none"}],
]


@settings(max_examples=200, deadline=None)
@given(tricky_events())
def test_columnar_categorize_and_tag_equal_list_versions(events: list[Event]) -> None:
    table = EventTable.from_events(events)
    categories = _compile_classes(RULES, "categorize")
    labelled = columnar.label(table, transform.category_labeller(categories))
    assert rows(labelled) == rows(transform.categorize(events, categories))
    tags = _compile_classes([["w", RULES[0][1]], ["f", RULES[2][1]]], "tag")
    tagged = columnar.label(table, transform.tag_labeller(tags))
    assert rows(tagged) == rows(transform.tag(events, tags))


@settings(max_examples=200, deadline=None)
@given(tricky_events(), st.sampled_from([[], ["app"], ["app", "title"], ["n"], ["tags"],
                                         ["$category"], ["app", "tags"], ["tags", "n", "app"],
                                         ["$category", "app"]]))
def test_columnar_merge_equals_list_merge(events: list[Event], keys: list[str]) -> None:
    table = EventTable.from_events(events)
    if "$category" in keys:
        categories = _compile_classes(RULES, "categorize")
        events = transform.categorize(events, categories)
        table = columnar.label(table, transform.category_labeller(categories))
    merged = columnar.merge_events_by_keys(table, keys)
    assert rows(merged) == rows(transform.merge_events_by_keys(events, keys))


@settings(max_examples=200, deadline=None)
@given(tricky_events(), st.integers(-5, 20))
def test_columnar_sorts_sums_and_limits_equal_list_versions(
    first: list[Event], count: int
) -> None:
    table = EventTable.from_events(first)
    assert rows(columnar.sort_by_timestamp(table)) == rows(transform.sort_by_timestamp(first))
    assert rows(columnar.sort_by_duration(table)) == rows(transform.sort_by_duration(first))
    assert columnar.sum_durations(table) == transform.sum_durations(first)
    assert rows(table.take(slice(None, count))) == rows(transform.limit_events(first, count))


@settings(max_examples=100, deadline=None)
@given(tricky_events())
def test_table_json_equals_event_json(events: list[Event]) -> None:
    assert EventTable.from_events(events).to_json() == [e.to_json() for e in events]


def test_row_data_classes_follow_dict_equality() -> None:
    table = EventTable.from_events([Event(i, 1, data) for i, data in enumerate(DATAS)])
    classes = table.row_data_classes().tolist()
    for i, a in enumerate(DATAS):
        for j, b in enumerate(DATAS):
            assert (classes[i] == classes[j]) == (a == b), (a, b)


def test_a_dict_value_and_a_list_of_its_pairs_are_different_groups() -> None:
    events = [Event(0, 1, {"k": {"a": 1}}), Event(1, 2, {"k": [["a", 1]]}),
              Event(2, 4, {"k": {"a": 1.0}})]
    expected = [(0, 5, {"k": {"a": 1}}, None), (1, 2, {"k": [["a", 1]]}, None)]
    assert rows(transform.merge_events_by_keys(events, ["k"])) == expected
    assert rows(columnar.merge_events_by_keys(EventTable.from_events(events), ["k"])) == expected
