from __future__ import annotations

from typing import Any

import pytest

from aw_server.errors import QueryError
from aw_server.query import functions
from tests.aw_server.query.helpers import run, value


def test_result_is_the_value_of_return_in_either_spelling() -> None:
    assert value("RETURN = 1;") == 1
    assert value("return 2;") == 2
    assert value("x = 3; RETURN = x; return x + 1;") == 4


def test_program_without_return_is_an_error() -> None:
    with pytest.raises(QueryError, match="never assigns RETURN"):
        value("x = 1;")


def test_empty_program_is_an_error() -> None:
    with pytest.raises(QueryError, match="empty"):
        run(["", "  "])


def test_predefined_variables_describe_the_period() -> None:
    result = run(
        'RETURN = [TIMEINTERVAL, STARTTIME, ENDTIME, NAME];',
        periods=["2024-03-09T22:00:00+01:00/2024-03-10T00:00:00Z"],
        name="summary",
    )[0]
    assert result == [
        "2024-03-09T21:00:00+00:00/2024-03-10T00:00:00+00:00",
        "2024-03-09T21:00:00+00:00",
        "2024-03-10T00:00:00+00:00",
        "summary",
    ]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("7.5 % 2", 1.5),
        ("-(2 - 5)", 3),
        ("0.1 + 0.2 > 0.3", True),
        ('"ab" + "cd"', "abcd"),
        ("[1] + [2, 3]", [1, 2, 3]),
        ("1 == 1.0", True),
        ("true == 1", False),
        ('"a" != "b"', True),
        ('"abc" < "abd"', True),
        ("2 >= 2", True),
        ('{"a": [1, {"b": 2}]} == {"a": [1, {"b": 2}]}', True),
    ],
)
def test_operators(expr: str, expected: Any) -> None:
    assert value(f"RETURN = {expr};") == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('1 + "a"', "cannot add integer and string"),
        ("[1] - [1]", "'-' needs two numbers"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ('1 < "a"', "cannot compare"),
        ('-"a"', "cannot negate string"),
        ("1e308 * 10", "not a finite number"),
    ],
)
def test_operator_errors(expr: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        value(f"RETURN = {expr};")


def test_if_elif_else_runs_exactly_one_branch() -> None:
    program = """
    x = 2;
    if x == 1 { r = "one"; } elif x == 2 { r = "two"; } else { r = "many"; }
    if x > 5 { s = "big"; } else { s = "small"; }
    u = 5;
    if false { u = 1; }
    RETURN = [r, s, u];
    """
    assert value(program) == ["two", "small", 5]


def test_if_condition_must_be_boolean() -> None:
    with pytest.raises(QueryError, match="true or false") as info:
        value("if 1 { x = 1; }\nRETURN = 1;")
    assert (info.value.line, info.value.column) == (1, 4)


def test_undefined_variable_is_reported_where_it_is_used() -> None:
    with pytest.raises(QueryError, match="variable 'evnts' is not defined") as info:
        run(["events = [];", "RETURN = flood(evnts);"])
    assert (info.value.line, info.value.column) == (2, 16)


def test_function_name_used_as_variable_gets_a_hint() -> None:
    with pytest.raises(QueryError, match="add parentheses"):
        value("RETURN = nop;")


def test_unknown_function_is_reported_with_position() -> None:
    with pytest.raises(QueryError, match="unknown function 'fluud'") as info:
        run(["x = 1;", "  RETURN = fluud(x);"])
    assert (info.value.line, info.value.column) == (2, 12)


def test_wrong_argument_count_names_the_signature() -> None:
    with pytest.raises(QueryError, match=r"takes 2 arguments, got 1 .*merge_events_by_keys\("):
        value("RETURN = merge_events_by_keys([]);")
    with pytest.raises(QueryError, match="takes 1 to 2 arguments, got 3"):
        value('RETURN = find_bucket("a", "b", "c");')
    with pytest.raises(QueryError, match="takes 0 arguments, got 1"):
        value("RETURN = nop(1);")


def test_wrong_argument_type_names_argument_and_types() -> None:
    with pytest.raises(QueryError) as info:
        run(['RETURN = filter_keyvals([], 5, ["x"]);'])
    assert "argument 2 ('key') of filter_keyvals() must be string, got integer" in str(info.value)
    assert info.value.column == 10
    with pytest.raises(QueryError, match="must be events, got list"):
        value("RETURN = flood([1, 2]);")


def test_type_error_inside_a_function_is_not_reported_as_bad_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(events: list[Any]) -> list[Any]:
        raise TypeError("bug inside the transform")

    spec = functions.FUNCTIONS["sort_by_timestamp"]
    monkeypatch.setitem(
        functions.FUNCTIONS, "sort_by_timestamp",
        functions.QueryFunction(spec.name, spec.params, spec.returns, spec.description, broken),
    )
    with pytest.raises(TypeError, match="bug inside the transform"):
        value("RETURN = sort_by_timestamp([]);")


def test_a_function_does_not_change_the_variable_it_was_given() -> None:
    # aw-core's categorize writes into the events in place, so `events` would change too.
    result = value(
        'events = query_bucket("aw-watcher-window_laptop");\n'
        'c = categorize(events, [[["All"], {"type": "regex", "regex": "."}]]);\n'
        "RETURN = [events, c];"
    )
    assert all("$category" not in e["data"] for e in result[0])
    assert all(e["data"]["$category"] == ["All"] for e in result[1])
