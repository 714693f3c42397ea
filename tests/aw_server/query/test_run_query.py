"""run_query as the HTTP layer calls it: periods, the canonical query, cache and budgets."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server.errors import QueryError, QueryTooExpensive
from aw_server.query import QueryCache, QueryLimits, run_query
from aw_server.transform import categorize, compile_rule
from tests.aw_server.query.helpers import AFK, WINDOW, desktop, ev, period, run, value
from tests.aw_server.query.memory_source import MemorySource
from tests.support.queries import desktop_summary

RULES = (
    '[[["Work"], {"type": "regex", "regex": "GitHub"}],'
    ' [["Work", "Programming"], {"type": "regex", "regex": "code"}],'
    ' [["Media"], {"type": "regex", "regex": "youtube", "ignore_case": true}]]'
)

# aw-webui's fullDesktopQuery shape, one statement per line as the webui sends it.
CANONICAL = desktop_summary(f'find_bucket("{WINDOW}")', f'find_bucket("{AFK}")', RULES)


def summary(result: dict[str, Any], key: str) -> list[tuple[Any, float]]:
    return [
        (e["data"].get("title", e["data"].get("app", e["data"].get("$category"))), e["duration"])
        for e in result["window"][key]
    ]


def test_canonical_desktop_query_hand_worked() -> None:
    # Window: GitHub 0-10, code 12-17, YouTube 17-117, code 117-137; not-afk 0-50, 110-150.
    # flood splits the gap 10-12 at 11 (GitHub 0-11, code 11-17); the AFK filter cuts
    # YouTube to 17-50 and 110-117.
    (result,) = run(CANONICAL)
    assert result["window"]["duration"] == 77.0
    assert summary(result, "title_events") == [("YouTube", 40.0), ("main.py", 26.0),
                                               ("GitHub - PR", 11.0)]
    assert summary(result, "app_events") == [("firefox", 51.0), ("code", 26.0)]
    assert summary(result, "cat_events") == [(["Media"], 40.0), (["Work", "Programming"], 26.0),
                                             (["Work"], 11.0)]
    assert [e["duration"] for e in result["window"]["active_events"]] == [50.0, 40.0]


def test_canonical_query_with_period_boundaries_and_several_periods() -> None:
    results = run(CANONICAL, periods=[period(30, 130), period(0, 60), period(60, 3600)])
    assert [r["window"]["duration"] for r in results] == [40.0, 50.0, 27.0]


def test_result_is_json_ready() -> None:
    (result,) = run(f'RETURN = query_bucket("{WINDOW}");', periods=[period(0, 11)])
    assert result == [
        {"id": None, "timestamp": "2024-03-09T23:59:00+00:00", "duration": 10.0,
         "data": {"app": "firefox", "title": "GitHub - PR"}},
    ]


@pytest.mark.parametrize(
    "bad",
    ["2024-01-01", "2024-01-01/2024-01-02/2024-01-03", "yesterday/today",
     "2024-01-02T00:00:00Z/2024-01-01T00:00:00Z", 5],
)
def test_invalid_time_periods_are_query_errors(bad: Any) -> None:
    with pytest.raises(QueryError, match="time period"):
        run_query(["RETURN = 1;"], [bad], desktop())


def test_program_must_be_a_list_of_strings() -> None:
    with pytest.raises(QueryError, match="list of strings"):
        run_query(["RETURN = 1;", 2], [period(0, 1)], desktop())  # type: ignore[list-item]


def test_no_time_periods_give_no_results_and_the_program_is_not_parsed() -> None:
    # As both ActivityWatch servers: they run (and parse) the program once per period.
    assert run_query(["RETURN = ((;"], [], desktop()) == []
    assert run_query([], [], desktop()) == []
    with pytest.raises(QueryError, match="timeperiods"):
        run_query(["RETURN = 1;"], "2024-01-01/2024-01-02", desktop())  # type: ignore[arg-type]


# Cache


def test_cache_serves_past_periods_until_a_read_bucket_changes() -> None:
    source, cache = desktop(), QueryCache()
    program = f'RETURN = sum_durations(query_bucket("{WINDOW}"));'
    assert run(program, source, cache=cache) == [135.0]
    reads = len(source.reads)
    assert run(program, source, cache=cache) == [135.0]
    assert len(source.reads) == reads and cache.hits == 1
    source.insert(AFK, [ev(200, 5, status="afk")])  # a bucket the query does not read
    assert run(program, source, cache=cache) == [135.0]
    assert cache.hits == 2
    source.insert(WINDOW, [ev(200, 5, app="x")])
    assert run(program, source, cache=cache) == [140.0]
    assert len(source.reads) == reads + 1
    assert len(cache) == 1  # the stale entry was replaced, not kept beside the new one


def test_cache_key_includes_program_period_and_name() -> None:
    source, cache = desktop(), QueryCache()
    run("RETURN = NAME;", source, cache=cache, name="a")
    assert run("RETURN = NAME;", source, cache=cache, name="b") == ["b"]
    run("RETURN = STARTTIME;", source, [period(0, 10)], cache=cache)
    assert run("RETURN = STARTTIME;", source, [period(5, 10)], cache=cache) == [
        "2024-03-09T23:59:05+00:00"
    ]
    assert cache.hits == 0


def test_periods_ending_in_the_future_are_not_cached() -> None:
    source, cache = desktop(), QueryCache()
    future = "2024-03-09T23:59:00Z/2999-01-01T00:00:00Z"
    program = f'RETURN = query_bucket_eventcount("{WINDOW}");'
    run(program, source, [future], cache=cache)
    run(program, source, [future], cache=cache)
    assert len(cache) == 0 and cache.hits == 0


def test_bucket_list_results_are_invalidated_when_buckets_appear() -> None:
    # find_bucket and query_bucket_names both read the bucket list.
    source, cache = desktop(), QueryCache()
    program = 'RETURN = [query_bucket_names(), find_bucket("aw-watcher-window")];'
    assert run(program, source, cache=cache) == [
        [[WINDOW, AFK, "aw-watcher-window_desktop"], WINDOW]]
    source.add_bucket("aw-watcher-window_a-new-host")
    assert run(program, source, cache=cache) == [
        [[WINDOW, AFK, "aw-watcher-window_desktop", "aw-watcher-window_a-new-host"], WINDOW]]


def test_cache_is_a_bounded_lru() -> None:
    source, cache = desktop(), QueryCache(max_entries=2)
    for n in range(3):
        run(f"RETURN = {n};", source, cache=cache)
    run("RETURN = 2;", source, cache=cache)
    run("RETURN = 0;", source, cache=cache)
    assert len(cache) == 2
    assert cache.hits == 1  # "2" was still cached, "0" had been evicted


# Budgets


def test_reading_more_events_than_allowed_is_too_expensive() -> None:
    limits = QueryLimits(max_events=5)
    program = f'a = query_bucket("{WINDOW}"); b = query_bucket("{WINDOW}"); RETURN = 1;'
    with pytest.raises(QueryTooExpensive, match="more than 5 events"):
        run(program, limits=limits)
    assert run(f'a = query_bucket("{WINDOW}"); RETURN = 1;', limits=limits) == [1]


def test_list_doubling_is_stopped_by_the_event_budget() -> None:
    program = "a = [1, 2];" + "a = a + a;" * 30 + "RETURN = 1;"
    with pytest.raises(QueryTooExpensive, match="more than 1000 items"):
        run(program, limits=QueryLimits(max_events=1000))


def test_string_and_integer_growth_is_bounded() -> None:
    with pytest.raises(QueryError, match="string longer"):
        value('s = "abcdefgh";' + "s = s + s;" * 30 + "RETURN = 1;")
    with pytest.raises(QueryError, match="integer result too large"):
        value("n = 3;" + "n = n * n;" * 10 + "RETURN = n;")


def test_time_budget_is_enforced() -> None:
    with pytest.raises(QueryTooExpensive, match="longer than"):
        run("RETURN = 1;", limits=QueryLimits(max_seconds=-1))


class CountdownDeadline:
    """Expires after `checks` calls: proves a transform checks inside its loop."""

    def __init__(self, checks: int) -> None:
        self.remaining = checks

    def check(self) -> None:
        self.remaining -= 1
        if self.remaining < 0:
            raise QueryTooExpensive("deadline")


def test_long_categorize_checks_the_deadline_inside_its_loop() -> None:
    events = [ev(i, 1, title=f"t{i}") for i in range(20_000)]
    rules = [(["A"], compile_rule({"regex": "t1"}))]
    with pytest.raises(QueryTooExpensive):
        categorize(events, rules, CountdownDeadline(3))


# Whole-pipeline fuzzing

PIECES = st.sampled_from(
    ["x", "RETURN", "=", ";", "(", ")", "[", "]", "{", "}", ",", ":", '"s"', f'"{WINDOW}"',
     "1", "0", "2.5", "+", "-", "*", "/", "%", "==", "<", "if", "else", "return", "true",
     "query_bucket", "flood", "categorize", "merge_events_by_keys", "sum_durations", "nop",
     "find_bucket", "limit_events", "concat", "contains", '"app"', '["app"]', "TIMEINTERVAL"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECES, max_size=30))
def test_random_programs_fail_only_with_query_errors(pieces: list[str]) -> None:
    source = MemorySource()
    source.add_bucket(WINDOW)
    source.insert(WINDOW, [ev(0, 10, app="a"), ev(12, 5, app="b")])
    with contextlib.suppress(QueryError, QueryTooExpensive):
        run_query([" ".join(pieces)], [period(0, 60)], source,
                  limits=QueryLimits(max_seconds=5, max_events=10_000))


def test_garbage_collector_is_paused_during_a_query_and_restored_after() -> None:
    import gc

    seen: list[bool] = []
    source = desktop()
    original = source.events

    def spy(bucket_id: str, start_us: int, end_us: int) -> Any:
        seen.append(gc.isenabled())
        return original(bucket_id, start_us, end_us)

    source.events = spy  # type: ignore[method-assign]
    assert gc.isenabled()
    run(f'RETURN = query_bucket("{WINDOW}");', source)
    with pytest.raises(QueryError):
        run('RETURN = query_bucket("missing");', source)
    assert seen == [False]
    assert gc.isenabled()


def test_long_operator_chains_and_deeply_nested_values_are_query_errors() -> None:
    with pytest.raises(QueryError, match="nesting deeper"):
        value("RETURN = " + "1 + " * 500 + "1;")
    with pytest.raises(QueryError, match="nested too deeply"):
        value("a = 1;" + "a = [a];" * 3000 + "RETURN = a;")
    assert value("RETURN = " + "1 + " * 50 + "1;") == 51



def test_catastrophic_regex_is_stopped_with_a_clear_error() -> None:
    """Nested repetition once could hang the server: stdlib `re` cannot be interrupted."""
    source = MemorySource()
    source.add_bucket("w")
    source.insert("w", [ev(0, 10, title="a" * 40 + "!")])
    program = ['events = query_bucket("w");',
               'RETURN = filter_keyvals_regex(events, "title", "(a|aa)+$");']
    with pytest.raises(QueryTooExpensive, match="regular expression"):
        run_query(program, [period(0, 86_400)], source)
