from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server.errors import QueryError
from aw_server.query import ast
from aw_server.query.lexer import Kind, tokenize
from aw_server.query.parser import MAX_DEPTH, parse


def only_value(source: str) -> ast.Expr:
    """The expression assigned by a one-statement program `x = <expr>;`."""
    program = parse(f"x = {source};")
    statement = program.statements[0]
    assert isinstance(statement, ast.Assign)
    return statement.value


def literal(source: str) -> object:
    node = only_value(source)
    assert isinstance(node, ast.Literal)
    return node.value


# Literals


def test_integers_and_floats_keep_their_type() -> None:
    assert literal("42") == 42 and isinstance(literal("42"), int)
    assert literal("4.5") == 4.5
    assert literal("1.") == 1.0 and isinstance(literal("1."), float)
    assert literal("2e3") == 2000.0


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"double"', "double"),
        ("'single'", "single"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        ("'mixed \"quotes\"'", 'mixed "quotes"'),
        (r'"\d+\.\w"', r"\d+\.\w"),  # regex escapes reach the regex engine untouched
        (r'"ends in \\"', "ends in \\\\"),
        ('"semi; colon"', "semi; colon"),
        ('"日本語 ●"', "日本語 ●"),
    ],
)
def test_string_literals_decode_like_activitywatch(source: str, value: str) -> None:
    assert literal(source) == value


@pytest.mark.parametrize(("source", "value"), [("true", True), ("True", True),
                                               ("false", False), ("False", False)])
def test_all_four_boolean_spellings(source: str, value: bool) -> None:
    assert literal(source) is value


def test_lists_and_dicts_nest_and_allow_trailing_commas() -> None:
    node = only_value('{"a": [1, [2, 3],], "b": {"c": "d"},}')
    assert isinstance(node, ast.DictExpr)
    assert [key for key, _ in node.items] == ["a", "b"]
    inner = node.items[0][1]
    assert isinstance(inner, ast.ListExpr) and len(inner.items) == 2


def test_empty_list_dict_and_call() -> None:
    assert isinstance(only_value("[]"), ast.ListExpr)
    assert isinstance(only_value("{}"), ast.DictExpr)
    call = only_value("nop()")
    assert isinstance(call, ast.Call) and call.args == ()


# Calls and operators


def test_nested_calls_followed_by_more_arguments_parse() -> None:
    call = only_value('filter_keyvals(flood(e), "app", ["x"])')
    assert isinstance(call, ast.Call)
    assert [type(a) for a in call.args] == [ast.Call, ast.Literal, ast.ListExpr]
    call = only_value('f([1, 2], {"k": g(h(1), 2)}, 3)')
    assert isinstance(call, ast.Call) and len(call.args) == 3


def test_multiplication_binds_tighter_than_addition_and_comparison_loosest() -> None:
    node = only_value("1 + 2 * 3 == 7")
    assert isinstance(node, ast.BinOp) and node.op == "=="
    assert isinstance(node.left, ast.BinOp) and node.left.op == "+"
    assert isinstance(node.left.right, ast.BinOp) and node.left.right.op == "*"


def test_operators_are_left_associative_and_parentheses_group() -> None:
    node = only_value("10 - 2 - 3")
    assert isinstance(node, ast.BinOp) and isinstance(node.left, ast.BinOp)
    node = only_value("10 - (2 - 3)")
    assert isinstance(node, ast.BinOp) and isinstance(node.right, ast.BinOp)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator(op: str) -> None:
    node = only_value(f"a {op} b")
    assert isinstance(node, ast.BinOp) and node.op == op


# Statements


def test_return_keyword_and_return_variable() -> None:
    assert isinstance(parse("return 1;").statements[0], ast.Return)
    statement = parse("RETURN = 1;").statements[0]
    assert isinstance(statement, ast.Assign) and statement.name == "RETURN"


def test_if_elif_else_chain() -> None:
    program = parse('if a == 1 { x = 1; } elif a == 2 { x = 2; y = 3; } else { x = 0; }')
    statement = program.statements[0]
    assert isinstance(statement, ast.If)
    assert [len(body) for _, body in statement.branches] == [1, 2]
    assert len(statement.orelse) == 1


def test_comments_blank_statements_and_a_missing_final_semicolon() -> None:
    program = parse("# heading\nx = 1; # trailing\n;;\ny = 2")
    assert [s.name for s in program.statements if isinstance(s, ast.Assign)] == ["x", "y"]


def test_statement_split_over_lines_and_several_statements_per_line() -> None:
    program = parse('a = query_bucket(\n"x"\n); b = a; c = b;')
    assert len(program.statements) == 3


def test_python_client_programs_still_parse_when_joined_with_newlines() -> None:
    # aw-client sends one statement per line with single-quoted strings.
    lines = ["events = query_bucket('aw-watcher-window_h');", "RETURN = events;"]
    assert len(parse("\n".join(lines)).statements) == 2
    assert len(parse("".join(lines)).statements) == 2


def test_nodes_carry_line_and_column() -> None:
    program = parse('x = 1;\n  y = f(1,\n    "s");')
    statement = program.statements[1]
    assert isinstance(statement, ast.Assign)
    assert (statement.line, statement.col) == (2, 3)
    call = statement.value
    assert isinstance(call, ast.Call) and (call.line, call.col) == (2, 7)
    assert (call.args[1].line, call.args[1].col) == (3, 5)


def test_tokens_report_kinds() -> None:
    kinds = [t.kind for t in tokenize('if x >= 1.5 { return "s"; }')]
    assert kinds[:4] == [Kind.KEYWORD, Kind.IDENT, Kind.OP, Kind.NUMBER]
    assert kinds[-1] is Kind.EOF


# Errors


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ('x = "open', 1, 5, "unterminated string"),
        ("x = 1;\ny = 2 $ 3;", 2, 7, "unexpected character '$'"),
        ("x = 1\ny = 2;", 2, 1, "expected ';'"),
        ("x = f(1, 2;", 1, 11, "',' or ')'"),
        ("x = {1: 2};", 1, 6, "string key"),
        ('x = {"a" 2};', 1, 10, "':'"),
        ("f(x) = 1;", 1, 6, "only a name can be assigned"),
        ("x = ;", 1, 5, "expected a value"),
        ("x = 12abc;", 1, 5, "invalid number"),
        ("if x { y = 1;", 1, 14, "'}'"),
        ("x = [1 2];", 1, 8, "',' or ']'"),
        ("return", 1, 7, "expected a value, found end of program"),
        ("x = 99999999999999999999;", 1, 5, "too large"),
    ],
)
def test_syntax_errors_name_line_column_and_expectation(
    source: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(QueryError) as info:
        parse(source)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in info.value.message
    assert info.value.message.startswith(f"line {line}, column {column}: ")


def test_deep_nesting_is_a_query_error_not_a_crash() -> None:
    with pytest.raises(QueryError, match="nesting deeper"):
        parse("x = " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + ";")
    with pytest.raises(QueryError, match="nesting deeper"):
        parse("x = " + "-" * 5000 + "1;")


# Fuzzing

TOKENS = st.sampled_from(
    ["x", "RETURN", "=", ";", "(", ")", "[", "]", "{", "}", ",", ":", '"s"', "'t'", "1",
     "2.5", "+", "-", "*", "/", "%", "==", "<", "if", "elif", "else", "return", "true",
     "flood", "nop", "#", "\n", " ", '"', "\\"]
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_random_text_only_ever_raises_query_error(source: str) -> None:
    with contextlib.suppress(QueryError):
        parse(source)


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=40))
def test_random_token_soup_only_ever_raises_query_error(tokens: list[str]) -> None:
    with contextlib.suppress(QueryError):
        parse(" ".join(tokens))
