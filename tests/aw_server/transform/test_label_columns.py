"""Labelling a key column at a time gives `Labeller.label_all`'s answers dict for dict:
the same rule masks, the same labels, the same new dicts (and key order)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server import transform
from aw_server.query.functions import _compile_classes
from aw_server.transform import label_columns
from aw_server.transform.classify import Labeller

KEYS = ["app", "title", "url", "$category"]
# Strings some rules match, values that are not strings (equal across types, or not
# hashable), and a non-ASCII text for the case-folding fallback.
VALUES: list[Any] = ["Slack", "slack - Standup", "vim README", "x", "", "KELVIN \u212a",
                     "code|x", 1, 1.0, True, None, 2.5, ["Slack"], {"k": "Slack"},
                     [["x", 1]]]
REGEXES = ["Slack|Standup", "^x$", "README", "kelvin", "co.e", "Slack", "", "x|"]


@st.composite
def datas(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Distinct dicts (as an event table holds them) with keys in varying order."""
    result = []
    for _ in range(draw(st.integers(0, 12))):
        keys = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=4))
        result.append({key: draw(st.sampled_from(VALUES)) for key in keys})
    return result


@st.composite
def rule_specs(draw: st.DrawFn) -> list[list[Any]]:
    specs = []
    for index in range(draw(st.integers(0, 8))):
        spec: dict[str, Any] = {"type": draw(st.sampled_from(["regex", "regex", "none"])),
                                "regex": draw(st.sampled_from(REGEXES)),
                                "ignore_case": draw(st.booleans())}
        if draw(st.booleans()):
            spec["select_keys"] = draw(st.lists(st.sampled_from([*KEYS, "absent"]),
                                                max_size=3))
        if draw(st.booleans()):
            spec["priority"] = draw(st.integers(-5, 40))
        path = draw(st.lists(st.sampled_from(["Work", "Fun", "Chat"]), max_size=3))
        specs.append([path or [f"c{index}"], spec])
    return specs


def assert_same_labels(labeller: Labeller, fresh: Labeller, data: list[dict[str, Any]]) -> None:
    expected = fresh.label_all(data)
    got = label_columns.label_all(labeller, data)
    assert got == expected
    assert [list(d) for d in got] == [list(d) for d in expected]  # key order too


@settings(max_examples=300, deadline=None)
@given(datas(), rule_specs())
def test_column_masks_equal_per_dict_masks(data: list[dict[str, Any]],
                                          specs: list[list[Any]]) -> None:
    labeller = transform.category_labeller(_compile_classes(specs, "categorize"))
    masks = label_columns.data_masks(labeller, data)
    assert masks is not None
    assert [int(m) for m in masks.tolist()] == [labeller.matcher.data_mask(d) for d in data]


@settings(max_examples=300, deadline=None)
@given(datas(), rule_specs())
def test_categories_and_tags_equal_the_per_dict_path(data: list[dict[str, Any]],
                                                     specs: list[list[Any]]) -> None:
    categories = _compile_classes(specs, "categorize")
    assert_same_labels(transform.category_labeller(categories),
                       transform.category_labeller(categories), data)
    tags = _compile_classes([[f"t{i}", spec] for i, (_, spec) in enumerate(specs)], "tag")
    assert_same_labels(transform.tag_labeller(tags), transform.tag_labeller(tags), data)


def many_rules(count: int) -> list[tuple[Any, transform.Rule]]:
    """`count` rules, each matching one title; the last also matches "shared"."""
    specs = [[["R", str(i)], {"type": "regex", "regex": f"^t{i}$"}] for i in range(count)]
    specs[-1][1]["regex"] = f"^t{count - 1}$|shared"
    specs[-1][1]["select_keys"] = ["title"]
    return _compile_classes(specs, "categorize")


def titles(count: int) -> list[dict[str, Any]]:
    return [{"app": "a", "title": f"t{i}"} for i in range(count)] + [
        {"app": "shared", "title": "shared"}, {"title": ["shared"]}, {}]


def test_sixty_four_rules_use_every_bit_of_the_column_masks() -> None:
    rules = many_rules(64)
    labeller = transform.category_labeller(rules)
    masks = label_columns.data_masks(labeller, titles(64))
    assert masks is not None
    assert int(masks[63]) == 1 << 63
    assert int(masks[64]) == 1 << 63  # the select_keys rule, by its title
    assert_same_labels(labeller, transform.category_labeller(rules), titles(64))


def test_more_rules_than_mask_bits_fall_back_to_the_per_dict_path() -> None:
    rules = many_rules(70)
    labeller = transform.category_labeller(rules)
    assert label_columns.data_masks(labeller, titles(70)) is None
    labelled = label_columns.label_all(labeller, titles(70))
    assert labelled[69]["$category"] == ["R", "69"]
    assert labelled[70]["$category"] == ["R", "69"]
    assert labelled[71]["$category"] == ["Uncategorized"]
    assert_same_labels(labeller, transform.category_labeller(rules), titles(70))


def test_dicts_with_one_rule_set_share_one_label_object() -> None:
    rules = _compile_classes([[["Chat"], {"type": "regex", "regex": "Slack"}]], "categorize")
    labelled = label_columns.label_all(transform.category_labeller(rules),
                                       [{"app": "Slack"}, {"title": "Slack"}, {"app": "x"}])
    assert labelled[0]["$category"] is labelled[1]["$category"]
    assert labelled[2]["$category"] == ["Uncategorized"]


def test_an_existing_label_key_is_replaced_in_place() -> None:
    rules = _compile_classes([[["Chat"], {"type": "regex", "regex": "Slack"}]], "categorize")
    labelled = label_columns.label_all(transform.category_labeller(rules),
                                       [{"$category": ["Old"], "app": "Slack"}])
    assert list(labelled[0].items()) == [("$category", ["Chat"]), ("app", "Slack")]
