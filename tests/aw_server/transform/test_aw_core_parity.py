"""flood and merge_subwatcher_fields against aw-core 0.5.18's own `aw_transform`, on
thousands of inputs each.

flood's inputs lie on a 2 ms grid: every gap is then an even number of milliseconds, so
each midpoint falls on a whole millisecond and aw-core's truncation of moved starts to
milliseconds never applies. What is left must be equal, apart from the documented
difference for zero-duration events hidden inside an earlier event (aw-core gets the
input without them). merge_subwatcher_fields' inputs are whole milliseconds, so no
piece starts between two. The documented differences themselves are pinned below, on
the inputs docs/query.md gives, for both implementations.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from aw_server.models import Event
from aw_server.transform import flood, merge_subwatcher_fields
from aw_server.transform.flood import _without_hidden_instants
from tests.aw_server.transform.builders import T0, ev
from tests.support.aw_core import as_argument, rows, run_aw_transform

MS = 1000
US = 1_000_000
# Equal dicts that are different objects; values equal across types (1 == 1.0).
DATAS: list[dict[str, Any]] = [
    {"app": "a"}, {"app": "a"}, {"app": "b"}, {"app": "c", "n": 1}, {"app": "c", "n": 1.0},
    {"status": "not-afk"},
]


def random_events(rng: random.Random, count: int) -> list[Event]:
    """Mostly back to back with small holes, some overlaps (tiny, large, contained)."""
    events: list[Event] = []
    cursor = 0
    for index in range(count):
        gap = rng.choice([0, 0, 2 * MS, 50 * MS, -50 * MS, -100 * MS, -150 * MS, 2 * US,
                          5 * US, 6 * US, -3 * US, rng.randint(-200, 4000) * 2 * MS])
        duration = rng.choice([0, 2 * MS, 30 * MS, US, 3 * US, 7 * US, 40 * US,
                               rng.randint(0, 5000) * 2 * MS])
        start = cursor + gap
        cursor = max(cursor, start + duration) if rng.random() < 0.8 else start + duration
        events.append(Event(T0 + start, duration, rng.choice(DATAS),
                            rng.choice([None, index + 1])))
    if rng.random() < 0.5:
        events.reverse()  # storage hands events newest first
    return events


def hidden_instants_removed(events: list[Event]) -> list[Event]:
    """The input without what our flood ignores (documented), in the original order."""
    ordered = sorted(events, key=lambda e: (e.timestamp_us, e.duration_us))
    kept = {id(e) for e in _without_hidden_instants(ordered)} if ordered else set()
    return [e for e in events if id(e) in kept]


@pytest.mark.parametrize("seed", range(2))
def test_flood_equals_aw_core_0_5_18(reference_venv: Path, seed: int) -> None:
    rng = random.Random(seed)
    cases = []
    for _ in range(2500):
        events = random_events(rng, rng.randint(0, 12))
        cases.append((events, rng.choice([5, 5, 60, 2, 0])))
    expected = run_aw_transform(
        "flood", [[as_argument(hidden_instants_removed(e)), p] for e, p in cases])
    mismatches = [
        (rows(events), pulse, want, got)
        for (events, pulse), want in zip(cases, expected, strict=True)
        if (got := rows(flood(events, pulse * US))) != want
    ]
    assert mismatches[:3] == []


def _seconds(result: list[tuple[int, int, Any, Any]]) -> list[tuple[float, float]]:
    return [((s - T0) / US, (s + d - T0) / US) for s, d, _, _ in result]


# The inputs of the flood rows of docs/query.md: (events, ours, aw-core 0.5.18).
DOCUMENTED = {
    "midpoint kept to the microsecond": (
        [ev(0, 10, app="a"), ev(10.001, 10, app="b")],
        [(0, 10.0005), (10.0005, 20.001)],
        [(0, 10.0), (10.0, 20.0005)]),
    "gap of exactly pulsetime after a split": (
        [ev(0, 10, app="a"), ev(10.001, 10, app="b"), ev(25.001, 5, app="c")],
        [(0, 10.0005), (10.0005, 22.501), (22.501, 30.001)],
        [(0, 10.0), (10.0, 20.0005), (25.001, 30.001)]),
    "zero-duration event inside another": (
        [ev(0, 10, app="a"), ev(5, 0, app="x"), ev(12, 8, app="b")],
        [(0, 11), (11, 20)],
        [(0, 10), (12, 20)]),
}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_flood_differences_are_exactly_these(reference_venv: Path,
                                                        name: str) -> None:
    events, ours, theirs = DOCUMENTED[name]
    assert _seconds(rows(flood(events))) == ours
    assert _seconds(run_aw_transform("flood", [[as_argument(events)]])[0]) == theirs


def test_worked_examples_equal_aw_core(reference_venv: Path) -> None:
    cases = [
        [ev(0, 300.5, app="Firefox"), ev(301, 240, app="Terminal")],
        [ev(0, 10, app="a"), ev(10.5, 10, app="b"), ev(23.5, 5, app="b")],
        [ev(0, 30, app="a"), ev(5, 5, app="b")],  # the outer event's rest is dropped
        [ev(0, 10, app="a"), ev(10, 5, app="a")],  # touching equal data: two events
        [ev(0, 10, app="x"), ev(9.95, 1, app="y"), ev(9.96, 5, app="z")],  # y dropped
    ]
    expected = run_aw_transform("flood", [[as_argument(events)] for events in cases])
    assert [rows(flood(events)) for events in cases] == expected


BASE_DATAS = [{"app": "code", "title": "main.py"}, {"app": "code", "project": "mine"},
              {"app": "firefox"}]
SUB_DATAS = [{"project": "p1", "file": "a.py"}, {"project": "p2"},
             {"project": "p1", "file": "a.py"}, {"file": "b.py", "language": "python"}, {}]


def scattered_events(rng: random.Random, count: int, datas: list[dict[str, Any]]) -> list[Event]:
    """Anywhere in a minute, any length up to 20 s, half of them zero-duration."""
    return [Event(T0 + rng.randint(0, 60_000) * MS,
                  rng.choice([0, 0, rng.randint(1, 20_000), rng.randint(1, 3000)]) * MS,
                  rng.choice(datas), rng.choice([None, index + 1]))
            for index in range(count)]


def test_merge_subwatcher_fields_equals_aw_core_0_5_18(reference_venv: Path) -> None:
    rng = random.Random(3)
    cases = [(scattered_events(rng, rng.randint(0, 5), BASE_DATAS),
              scattered_events(rng, rng.randint(0, 7), SUB_DATAS),
              rng.choice([["project"], ["project", "file", "language"], [], ["file", "app"]]),
              rng.choice(["base_wins", "sub_wins"]))
             for _ in range(4000)]
    expected = run_aw_transform("merge_subwatcher_fields", [
        [as_argument(base), as_argument(subs), keys, conflict]
        for base, subs, keys, conflict in cases])
    mismatches = [
        (rows(base), rows(subs), keys, conflict, want, got)
        for (base, subs, keys, conflict), want in zip(cases, expected, strict=True)
        if (got := rows(merge_subwatcher_fields(base, subs, keys, conflict))) != want
    ]
    assert mismatches[:3] == []


def test_merge_subwatcher_fields_keeps_microseconds_where_aw_core_truncates(
        reference_venv: Path) -> None:
    base = [ev(0, 10, app="code")]
    subs = [ev(2, 2.9995, project="p")]  # ends between two milliseconds
    assert _seconds(rows(merge_subwatcher_fields(base, subs, ["project"]))) == [
        (0, 2), (2, 4.9995), (4.9995, 10)]
    aw_core = run_aw_transform("merge_subwatcher_fields",
                               [[as_argument(base), as_argument(subs), ["project"]]])[0]
    assert _seconds(aw_core) == [(0, 2), (2, 4.9995), (4.999, 9.9995)]
