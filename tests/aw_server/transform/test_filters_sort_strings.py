from __future__ import annotations

from aw_server.transform import (
    compile_regex,
    concat,
    filter_keyvals,
    filter_keyvals_regex,
    limit_events,
    simplify_window_titles,
    sort_by_duration,
    sort_by_timestamp,
    split_url_events,
    sum_durations,
)
from tests.aw_server.transform.builders import ev


def test_filter_keyvals_keeps_events_whose_value_is_listed() -> None:
    events = [ev(0, 1, status="afk"), ev(1, 1, status="not-afk"), ev(2, 1), ev(3, 1, status=None)]
    assert [e.data for e in filter_keyvals(events, "status", ["not-afk", None])] == [
        {"status": "not-afk"},
        {"status": None},
    ]


def test_exclude_keyvals_keeps_events_without_the_key() -> None:
    events = [ev(0, 1, status="afk"), ev(1, 1, status="not-afk"), ev(2, 1)]
    out = filter_keyvals(events, "status", ["afk"], exclude=True)
    assert [e.data for e in out] == [{"status": "not-afk"}, {}]


def test_filter_keyvals_compares_numbers_lists_and_booleans_by_value() -> None:
    events = [ev(0, 1, v=1), ev(1, 1, v=[1, 2]), ev(2, 1, v=True), ev(3, 1, v="1")]
    assert [e.data["v"] for e in filter_keyvals(events, "v", [1.0, [1, 2]])] == [1, [1, 2], True]


def test_filter_keyvals_regex_searches_unanchored_and_skips_non_strings() -> None:
    events = [ev(0, 1, app="Firefox"), ev(1, 1, app="firefox-esr"), ev(2, 1, app=3), ev(3, 1)]
    out = filter_keyvals_regex(events, "app", compile_regex("fox$"))
    assert [e.data["app"] for e in out] == ["Firefox"]


def test_limit_events_takes_the_first_n_with_slice_semantics() -> None:
    events = [ev(i, 1) for i in range(5)]
    assert limit_events(events, 2) == events[:2]
    assert limit_events(events, 10) == events
    assert limit_events(events, -1) == events[:4]


def test_sorts_are_stable_and_in_the_documented_direction() -> None:
    a, b, c = ev(5, 2, n="a"), ev(0, 3, n="b"), ev(0, 2, n="c")
    assert [e.data["n"] for e in sort_by_timestamp([a, b, c])] == ["b", "c", "a"]
    assert [e.data["n"] for e in sort_by_duration([a, b, c])] == ["b", "a", "c"]


def test_sum_durations_is_exact_in_microseconds() -> None:
    assert sum_durations([ev(0, 0.1), ev(1, 0.2), ev(2, 0.000001)]) == 300_001


def test_concat_joins_any_number_of_lists() -> None:
    assert concat([1], [], [2, 3]) == [1, 2, 3]


def test_split_url_events_decomposes_urls() -> None:
    events = [
        ev(0, 1, url="https://www.github.com/a/b;p?q=1#frag"),
        ev(1, 1, url="file:///home/me/x.html"),
        ev(2, 1, url="about:blank"),
        ev(3, 1, title="no url"),
    ]
    out = split_url_events(events)
    first = out[0].data
    assert (first["$protocol"], first["$domain"], first["$path"]) == ("https", "github.com", "/a/b")
    assert (first["$params"], first["$options"], first["$identifier"]) == ("p", "q=1", "frag")
    assert out[1].data["$domain"] == "file" and out[1].data["$path"] == "/home/me/x.html"
    assert out[2].data["$domain"] == "about"
    assert out[3] is events[3]
    assert "$domain" not in events[0].data  # input untouched


def test_split_url_events_leaves_unparsable_urls_alone() -> None:
    events = [ev(0, 1, url="http://[::1"), ev(1, 1, url=42)]
    assert split_url_events(events) == events


def test_simplify_window_titles_strips_counters_fps_and_markers() -> None:
    events = [
        ev(0, 1, app="firefox", title="(3) Inbox - Gmail"),
        ev(1, 1, app="cemu", title="Cemu - FPS: 59.2 - Game"),
        ev(2, 1, app="code", title="● main.py - VS Code"),
        ev(3, 1, title="● no app key"),
        ev(4, 1, app="x"),
    ]
    out = simplify_window_titles(events, "title")
    assert [e.data.get("title") for e in out] == [
        "Inbox - Gmail",
        "Cemu - FPS: ... - Game",
        "main.py - VS Code",
        "● no app key",
        None,
    ]


def test_simplify_other_keys_only_strips_counters() -> None:
    out = simplify_window_titles([ev(0, 1, app="(2) ● x")], "app")
    assert out[0].data["app"] == "● x"
