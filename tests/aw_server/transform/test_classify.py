from __future__ import annotations

from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server.transform import Rule, RuleError, categorize, compile_rule, tag
from tests.aw_server.transform.builders import ev


def rules(*pairs: tuple[Any, dict[str, Any]]) -> list[tuple[Any, Rule]]:
    return [(label, compile_rule(spec)) for label, spec in pairs]


WORK = (["Work"], {"type": "regex", "regex": "GitHub|Jira"})
PROG = (["Work", "Programming"], {"type": "regex", "regex": "code|vim"})
MEDIA = (["Media"], {"type": "regex", "regex": "youtube", "ignore_case": True})


def test_unmatched_events_are_uncategorized() -> None:
    out = categorize([ev(0, 1, app="firefox", title="news")], rules(WORK, PROG))
    assert out[0].data["$category"] == ["Uncategorized"]


def test_deepest_matching_category_wins() -> None:
    out = categorize([ev(0, 1, app="code", title="GitHub PR")], rules(PROG, WORK))
    assert out[0].data["$category"] == ["Work", "Programming"]


def test_later_rule_wins_between_equally_deep_matches() -> None:
    other = (["Other"], {"type": "regex", "regex": "GitHub"})
    out = categorize([ev(0, 1, title="GitHub")], rules(WORK, other))
    assert out[0].data["$category"] == ["Other"]


def test_ignore_case_is_honoured_and_default_is_case_sensitive() -> None:
    events = [ev(0, 1, title="YouTube"), ev(1, 1, title="github")]
    out = categorize(events, rules(WORK, MEDIA))
    assert [e.data["$category"] for e in out] == [["Media"], ["Uncategorized"]]


def test_select_keys_limits_matching_to_those_keys() -> None:
    only_app = (["Work"], {"type": "regex", "regex": "Jira", "select_keys": ["app"]})
    events = [ev(0, 1, app="Jira", title="x"), ev(1, 1, app="firefox", title="Jira")]
    out = categorize(events, rules(only_app))
    assert [e.data["$category"] for e in out] == [["Work"], ["Uncategorized"]]


def test_regex_searches_anywhere_in_any_string_value() -> None:
    out = categorize([ev(0, 1, app="x", title="see GitHub now", n=5)], rules(WORK))
    assert out[0].data["$category"] == ["Work"]


def test_empty_regex_and_type_none_never_match() -> None:
    empty = (["Empty"], {"type": "regex", "regex": ""})
    none = (["None"], {"type": "none"})
    out = categorize([ev(0, 1, title="anything")], rules(empty, none))
    assert out[0].data["$category"] == ["Uncategorized"]


def test_categorize_does_not_modify_its_input() -> None:
    event = ev(0, 1, title="GitHub")
    categorize([event], rules(WORK))
    assert event.data == {"title": "GitHub"}


def test_events_missing_keys_and_unicode_titles_are_classified() -> None:
    uni = (["Lang"], {"type": "regex", "regex": "日本|ü"})
    out = categorize([ev(0, 1), ev(1, 1, title="Grüße"), ev(2, 1, title="日本語")], rules(uni))
    assert [e.data["$category"] for e in out] == [["Uncategorized"], ["Lang"], ["Lang"]]


def test_many_events_sharing_data_get_the_same_answer() -> None:
    shared = {"app": "code", "title": "main.py"}
    events = [ev(i, 1) for i in range(5000)]
    for e in events:
        e.data = shared
    out = categorize(events, rules(PROG))
    assert {tuple(e.data["$category"]) for e in out} == {("Work", "Programming")}


def test_tag_lists_every_matching_tag_in_rule_order() -> None:
    tags = rules(("b", {"regex": "code"}), ("a", {"regex": "main"}), ("c", {"regex": "zzz"}))
    out = tag([ev(0, 1, app="code", title="main.py"), ev(1, 1, title="x")], tags)
    assert [e.data["$tags"] for e in out] == [["b", "a"], []]


def test_invalid_rules_are_reported() -> None:
    with pytest.raises(RuleError, match="invalid regex"):
        compile_rule({"type": "regex", "regex": "("})
    with pytest.raises(RuleError, match="select_keys"):
        compile_rule({"regex": "x", "select_keys": "app"})
    with pytest.raises(RuleError, match="must be a dict"):
        compile_rule(["x"])


def test_rule_regexes_are_compiled_once_and_reused() -> None:
    first = compile_rule({"regex": "Jira|GitHub", "ignore_case": True})
    second = compile_rule({"regex": "Jira|GitHub", "ignore_case": True})
    assert first.pattern is second.pattern
    assert first.pattern is not None and first.pattern.flags & regex.IGNORECASE


# The memoised matcher must agree with the plain per-event rule semantics.

_VALUES = st.sampled_from(["GitHub", "github", "code", "vim", "x", "", "日本", "Jira board"])
_RULE_SPECS = st.fixed_dictionaries(
    {"regex": st.sampled_from(["GitHub", "code|vim", "^x$", "", "board", "日"])},
    optional={
        "ignore_case": st.booleans(),
        "select_keys": st.lists(st.sampled_from(["app", "title", "url"]), max_size=2),
        "type": st.sampled_from(["regex", "none"]),
    },
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["app", "title", "n"]), _VALUES | st.integers()),
             max_size=8),
    st.lists(st.tuples(st.lists(st.sampled_from(["A", "B"]), min_size=1, max_size=3),
                       _RULE_SPECS), max_size=5),
)
def test_categorize_and_tag_agree_with_rule_match(
    datas: list[dict[str, Any]], specs: list[tuple[list[str], dict[str, Any]]]
) -> None:
    classes = [(label, compile_rule(spec)) for label, spec in specs]
    events = [ev(i, 1) for i in range(len(datas))]
    for event, data in zip(events, datas, strict=True):
        event.data = data
    for event, out in zip(events, categorize(events, classes), strict=True):
        expected: Any = ["Uncategorized"]
        for label, rule in classes:
            if rule.match(event.data) and len(label) >= len(expected):
                expected = label
        assert out.data["$category"] == expected
    for event, out in zip(events, tag(events, [("t" + str(i), r) for i, (_, r) in
                                                enumerate(classes)]), strict=True):
        assert out.data["$tags"] == [f"t{i}" for i, (_, r) in enumerate(classes)
                                     if r.match(event.data)]


def test_equal_data_in_separate_dicts_shares_one_categorized_dict() -> None:
    first, second = ev(0, 1, app="code", title="a"), ev(1, 1, app="code", title="a")
    assert first.data is not second.data
    out = categorize([first, second], rules(PROG))
    assert out[0].data is out[1].data  # lets merge_events_by_keys group by object


def test_events_differing_only_in_list_values_keep_their_own_data() -> None:
    events = [ev(0, 1, title="GitHub", extra=[1]), ev(1, 1, title="GitHub", extra=[2])]
    out = categorize(events, rules(WORK))
    assert [(e.data["extra"], e.data["$category"]) for e in out] == [([1], ["Work"]),
                                                                    ([2], ["Work"])]


# Rule ranks (aw-core 0.5.18): found by tests/aw_server/query/test_differential.py, where
# aw-server 0.12.0 honoured `priority`/`weight` and we ignored them.


def test_priority_outranks_a_deeper_path() -> None:
    work = (["Work"], {"type": "regex", "regex": "code", "priority": 50})
    deep = (["Work", "Programming", "Python"], {"type": "regex", "regex": "code"})  # rank 30
    out = categorize([ev(0, 1, app="code")], rules(work, deep))
    assert out[0].data["$category"] == ["Work"]


def test_weight_is_read_when_priority_is_absent_and_ties_go_to_the_later_rule() -> None:
    low = (["Media"], {"type": "regex", "regex": "YouTube", "weight": 5})
    video = (["Media", "Video"], {"type": "regex", "regex": "YouTube"})  # rank 20
    same = (["Later"], {"type": "regex", "regex": "YouTube", "priority": 20})
    out = categorize([ev(0, 1, title="YouTube")], rules(low, video, same))
    assert out[0].data["$category"] == ["Later"]
    out = categorize([ev(0, 1, title="YouTube")], rules(low))
    assert out[0].data["$category"] == ["Media"]  # a low rank still beats Uncategorized


def test_negative_priority_still_categorizes() -> None:
    games = (["Games"], {"type": "regex", "regex": "steam", "priority": -7})
    out = categorize([ev(0, 1, app="steam")], rules(games))
    assert out[0].data["$category"] == ["Games"]


@pytest.mark.parametrize("bad", [True, 1.5, "3", None])
def test_priority_must_be_an_integer(bad: Any) -> None:
    with pytest.raises(RuleError, match="priority"):
        compile_rule({"type": "regex", "regex": "x", "priority": bad})
    with pytest.raises(RuleError, match="weight"):
        compile_rule({"type": "regex", "regex": "x", "weight": bad})
