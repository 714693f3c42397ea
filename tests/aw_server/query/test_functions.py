"""Each query function through the whole pipeline: parse, check arguments, run, to JSON."""

from __future__ import annotations

import logging

import pytest

from aw_server.errors import QueryError
from aw_server.query import describe_functions
from tests.aw_server.query.helpers import AFK, WINDOW, desktop, ev, period, run, value


def spans(events: list[dict[str, object]], base: str = "2024-03-09T23:59:00+00:00") -> list:
    """(timestamp suffix, duration) pairs, enough to recognise hand-worked cases."""
    return [(e["timestamp"], e["duration"]) for e in events]


# Buckets


def test_query_bucket_returns_newest_first_clipped_to_the_period() -> None:
    result = run(f'RETURN = query_bucket("{WINDOW}");', periods=[period(5, 120)])[0]
    assert spans(result) == [
        ("2024-03-10T00:00:57+00:00", 3.0),
        ("2024-03-09T23:59:17+00:00", 100.0),
        ("2024-03-09T23:59:12+00:00", 5.0),
        ("2024-03-09T23:59:05+00:00", 5.0),
    ]
    assert result[1]["data"] == {"app": "firefox", "title": "YouTube"}


def test_query_bucket_of_unknown_bucket_names_it_with_position() -> None:
    with pytest.raises(QueryError, match="there is no bucket named 'nope'") as info:
        run(['x = 1;', 'RETURN = query_bucket("nope");'])
    assert (info.value.line, info.value.column) == (2, 10)


def test_query_bucket_eventcount_counts_events_in_the_period() -> None:
    results = run(f'RETURN = query_bucket_eventcount("{WINDOW}");',
                  periods=[period(0, 3600), period(30, 130)])
    assert results == [4, 2]


def test_query_bucket_names_lists_every_bucket_in_creation_order() -> None:
    assert value("RETURN = query_bucket_names();") == [WINDOW, AFK, "aw-watcher-window_desktop"]


def test_find_bucket_takes_the_first_created_bucket_containing_the_filter() -> None:
    # As aw-server 0.12.0; in id order "aw-watcher-window_desktop" would come first.
    assert value('RETURN = find_bucket("window");') == WINDOW
    assert value('RETURN = find_bucket("aw-watcher-afk");') == AFK


def test_find_bucket_with_hostname_only_considers_that_host() -> None:
    assert value('RETURN = find_bucket("aw-watcher-window_", "laptop");') == WINDOW


def test_find_bucket_without_a_match_is_an_error() -> None:
    with pytest.raises(QueryError, match="no bucket matches 'web' on host 'laptop'"):
        value('RETURN = find_bucket("web", "laptop");')


# Transforms, wired through the language


def test_filter_and_exclude_keyvals() -> None:
    program = f"""
    afk = query_bucket("{AFK}");
    RETURN = [filter_keyvals(afk, "status", ["afk"]), exclude_keyvals(afk, "status", ["afk"])];
    """
    kept, dropped = value(program)
    assert [e["data"]["status"] for e in kept] == ["afk"]
    assert [e["data"]["status"] for e in dropped] == ["not-afk", "not-afk"]


def test_filter_keyvals_regex_and_its_bad_regex_error() -> None:
    result = value(f'RETURN = filter_keyvals_regex(query_bucket("{WINDOW}"), "title", "^Y");')
    assert [e["data"]["title"] for e in result] == ["YouTube"]
    with pytest.raises(QueryError, match="invalid regex") as info:
        run([f'RETURN = filter_keyvals_regex(query_bucket("{WINDOW}"), "title", "(");'])
    assert info.value.column == 10


def test_limit_events_accepts_integral_numbers_only() -> None:
    assert len(value(f'RETURN = limit_events(query_bucket("{WINDOW}"), 2.0);')) == 2
    with pytest.raises(QueryError, match="must be integer, got number"):
        value(f'RETURN = limit_events(query_bucket("{WINDOW}"), 2.5);')


def test_sum_durations_is_float_seconds() -> None:
    assert value(f'RETURN = sum_durations(query_bucket("{WINDOW}"));') == 135.0
    assert value("RETURN = sum_durations([]);") == 0.0


def test_flood_default_and_custom_pulsetime() -> None:
    base = f'e = query_bucket("{WINDOW}");'
    assert spans(value(base + "RETURN = flood(e);"))[0] == ("2024-03-09T23:59:00+00:00", 11.0)
    assert spans(value(base + "RETURN = flood(e, 1);"))[0] == ("2024-03-09T23:59:00+00:00", 10.0)
    with pytest.raises(QueryError, match="non-negative"):
        value(base + "RETURN = flood(e, -1);")


def test_period_union_and_union_no_overlap() -> None:
    program = f"""
    w = sort_by_timestamp(query_bucket("{WINDOW}"));
    a = sort_by_timestamp(filter_keyvals(query_bucket("{AFK}"), "status", ["afk"]));
    RETURN = [period_union(w, a), union_no_overlap(a, w)];
    """
    union, priority = value(program)
    assert spans(union) == [("2024-03-09T23:59:00+00:00", 10.0),
                            ("2024-03-09T23:59:12+00:00", 125.0)]
    assert all(e["data"] == {} for e in union)
    assert [e["data"].get("status", e["data"].get("title")) for e in priority] == [
        "GitHub - PR", "main.py", "YouTube", "afk", "YouTube", "main.py",
    ]


def test_sorting_merging_and_chunking() -> None:
    program = f"""
    e = query_bucket("{WINDOW}");
    RETURN = [sort_by_duration(e), sort_by_timestamp(e),
              merge_events_by_keys(e, ["app"]), chunk_events_by_key(sort_by_timestamp(e), "app")];
    """
    by_duration, by_time, merged, chunks = value(program)
    assert [x["duration"] for x in by_duration] == [100.0, 20.0, 10.0, 5.0]
    assert [x["duration"] for x in by_time] == [10.0, 5.0, 100.0, 20.0]
    assert [(x["data"], x["duration"]) for x in merged] == [
        ({"app": "code"}, 25.0), ({"app": "firefox"}, 110.0)
    ]
    assert [len(x["data"]["subevents"]) for x in chunks] == [1, 1, 1, 1]


def test_merge_events_by_keys_rejects_non_string_keys() -> None:
    with pytest.raises(QueryError, match="keys must be strings"):
        value("RETURN = merge_events_by_keys([], [1]);")


def test_categorize_and_tag_with_rule_errors_reported() -> None:
    rules = '[[["Media"], {"type": "regex", "regex": "youtube", "ignore_case": true}]]'
    result = value(f'RETURN = categorize(query_bucket("{WINDOW}"), {rules});')
    assert [e["data"]["$category"] for e in result] == [
        ["Uncategorized"], ["Media"], ["Uncategorized"], ["Uncategorized"]
    ]
    # The query text holds `\.py$`: backslashes reach the regex engine as written, which
    # is what aw-webui relies on when it un-doubles JSON.stringify's escaping.
    tags = value(f'RETURN = tag(query_bucket("{WINDOW}"), [["py", {{"regex": "\\.py$"}}]]);')
    assert [e["data"]["$tags"] for e in tags] == [["py"], [], ["py"], []]
    for bad, message in [
        ('[["Media", {"regex": "x"}]]', "category 1 must be a list of strings"),
        ('[[["Media"]]]', "must be a pair"),
        ('[[["M"], {"regex": "("}]]', "rule 1 of categorize: invalid regex"),
        ('[[["M"], "x"]]', "a rule must be a dict"),
    ]:
        with pytest.raises(QueryError, match=message):
            value(f"RETURN = categorize([], {bad});")


def test_split_url_and_simplify_titles() -> None:
    source = desktop()
    source.add_bucket("aw-watcher-web-firefox")
    source.insert("aw-watcher-web-firefox",
                  [ev(0, 5, url="https://www.example.org/a?b=c", title="(2) Example")])
    result = run('e = query_bucket("aw-watcher-web-firefox");'
                 'RETURN = simplify_window_titles(split_url_events(e), "title");', source)[0]
    assert result[0]["data"]["$domain"] == "example.org"
    assert result[0]["data"]["$options"] == "b=c"
    assert result[0]["data"]["title"] == "Example"


def test_utility_functions(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="aw_server.query.functions"):
        assert value('RETURN = [nop(), print("hello", 1), contains([1, 2], 2),'
                     ' contains({"a": 1}, "b"), concat([1], [2], [3])];') == [
            1, None, True, False, [1, 2, 3]
        ]
    assert "'hello'" in caplog.text
    with pytest.raises(QueryError, match="string key"):
        value('RETURN = contains({"a": 1}, 1);')


def test_concat_takes_any_number_of_lists_as_aw_server_rust() -> None:
    assert value("RETURN = [concat(), concat([1]), concat([1], [2], [3, 4])];") == [
        [], [1], [1, 2, 3, 4]]


def test_merge_subwatcher_fields_copies_keys_into_the_overlapped_part() -> None:
    program = f"""
    window = sort_by_timestamp(query_bucket("{WINDOW}"));
    afk = filter_keyvals(query_bucket("{AFK}"), "status", ["afk"]);
    RETURN = merge_subwatcher_fields(window, afk, ["status", "app"]);
    """
    # YouTube 17-117 is overlapped by afk 50-110: cut in three, the middle gets
    # "status" but keeps its own "app" (base_wins).
    result = value(program)
    youtube = [(e["timestamp"], e["duration"], e["data"].get("status")) for e in result
               if e["data"]["title"] == "YouTube"]
    assert youtube == [("2024-03-09T23:59:17+00:00", 33.0, None),
                       ("2024-03-09T23:59:50+00:00", 60.0, "afk"),
                       ("2024-03-10T00:00:50+00:00", 7.0, None)]
    assert all(e["data"]["app"] != "afk" for e in result)
    assert sum(e["duration"] for e in result) == 135.0  # the base events' time, unchanged


def test_merge_subwatcher_fields_sub_wins_and_bad_arguments() -> None:
    program = f"""
    window = query_bucket("{WINDOW}");
    afk = filter_keyvals(query_bucket("{AFK}"), "status", ["afk"]);
    renamed = merge_subwatcher_fields(window, afk, ["status"], "sub_wins");
    RETURN = filter_keyvals(renamed, "status", ["afk"]);
    """
    assert [e["duration"] for e in value(program)] == [60.0]
    with pytest.raises(QueryError, match="conflict must be 'base_wins' or 'sub_wins'"):
        value(f'w = query_bucket("{WINDOW}"); RETURN = merge_subwatcher_fields(w, w, ["a"], "x");')
    with pytest.raises(QueryError, match="keys must be strings"):
        value(f'w = query_bucket("{WINDOW}"); RETURN = merge_subwatcher_fields(w, w, [1]);')


def test_every_function_is_described() -> None:
    described = {d["name"]: d for d in describe_functions()}
    expected = {
        "query_bucket", "query_bucket_eventcount", "query_bucket_names", "find_bucket",
        "filter_keyvals", "exclude_keyvals", "filter_keyvals_regex", "filter_period_intersect",
        "period_union", "union_no_overlap", "limit_events", "merge_events_by_keys",
        "chunk_events_by_key", "sort_by_timestamp", "sort_by_duration", "sum_durations",
        "concat", "flood", "split_url_events", "simplify_window_titles", "categorize", "tag",
        "nop", "print", "contains", "merge_subwatcher_fields",
    }
    assert set(described) == expected
    for entry in described.values():
        assert entry["signature"].startswith(entry["name"] + "(")
        assert entry["description"] and "\n" not in entry["description"]


def test_categorize_priority_ranks_rules_and_must_be_an_integer() -> None:
    """aw-core 0.5.18 rule ranks (found by the differential test against aw-server 0.12.0)."""
    program = (
        f'e = query_bucket("{WINDOW}");\n'
        'c = categorize(e, [[["Work"], {"regex": "code", "priority": 50}], '
        '[["Work", "Programming", "Python"], {"regex": "code"}]]);\n'
        'RETURN = merge_events_by_keys(filter_keyvals(c, "app", ["code"]), ["$category"]);'
    )
    assert [e["data"]["$category"] for e in value(program)] == [["Work"]]
    with pytest.raises(QueryError, match="'priority' must be an integer"):
        value(f'RETURN = categorize(query_bucket("{WINDOW}"), '
              '[[["A"], {"regex": "x", "priority": true}]]);')
