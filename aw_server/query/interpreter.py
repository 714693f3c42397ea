"""Evaluate a parsed program for one time period.

Values are plain Python: int, float, str, bool, None, list, dict and `Event`. Values are
never mutated after creation (every operation builds a new one), so variables can share
lists and events freely; see aw_server/transform/__init__.py for the event contract.
"""

from __future__ import annotations

import math
from typing import Any

from aw_server.errors import QueryError
from aw_server.query import ast
from aw_server.query.functions import FUNCTIONS, CallContext, as_list, type_name
from aw_server.query.limits import MAX_STRING_CHARS

# aw-server-rust numbers are f64; bounding integers keeps "x = x * x" from building a
# gigabyte-sized int, and keeps every result representable in JSON.
MAX_INT = 2**63


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Interpreter:
    def __init__(self, ctx: CallContext, variables: dict[str, Any]) -> None:
        self.ctx = ctx
        self.env = dict(variables)

    def run(self, program: ast.Program) -> Any:
        """Run every statement and return the value assigned to RETURN."""
        self._block(program.statements)
        if "RETURN" not in self.env:
            raise QueryError("the query never assigns RETURN (nor uses 'return'): no result")
        return self.env["RETURN"]

    def _block(self, statements: tuple[ast.Stmt, ...]) -> None:
        for statement in statements:
            self.ctx.budget.check()
            self._statement(statement)

    def _statement(self, stmt: ast.Stmt) -> None:
        if isinstance(stmt, ast.Assign):
            self.env[stmt.name] = self.eval(stmt.value)
        elif isinstance(stmt, ast.Return):
            self.env["RETURN"] = self.eval(stmt.value)
        elif isinstance(stmt, ast.ExprStmt):
            self.eval(stmt.expr)
        else:
            for condition, body in stmt.branches:
                value = self.eval(condition)
                if not isinstance(value, bool):
                    raise QueryError(
                        f"an if condition must be true or false, got {type_name(value)}",
                        line=condition.line,
                        column=condition.col,
                    )
                if value:
                    self._block(body)
                    return
            self._block(stmt.orelse)

    def eval(self, expr: ast.Expr) -> Any:
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.Var):
            try:
                return self.env[expr.name]
            except KeyError:
                hint = " (it is a function: add parentheses)" if expr.name in FUNCTIONS else ""
                raise QueryError(
                    f"variable '{expr.name}' is not defined{hint}", line=expr.line, column=expr.col
                ) from None
        if isinstance(expr, ast.Call):
            return self._call(expr)
        if isinstance(expr, ast.ListExpr):
            return [self.eval(item) for item in expr.items]
        if isinstance(expr, ast.DictExpr):
            return {key: self.eval(value) for key, value in expr.items}
        if isinstance(expr, ast.BinOp):
            left = self.eval(expr.left)
            right = self.eval(expr.right)
            try:
                return self._binop(expr.op, left, right)
            except QueryError as exc:
                raise _located(exc, expr) from None
        value = self.eval(expr.operand)
        if not _is_number(value):
            raise QueryError(
                f"cannot negate {type_name(value)}", line=expr.line, column=expr.col
            )
        return -value

    def _call(self, call: ast.Call) -> Any:
        function = FUNCTIONS.get(call.name)
        if function is None:
            raise QueryError(
                f"unknown function '{call.name}'", line=call.line, column=call.col
            )
        args = [self.eval(arg) for arg in call.args]
        self.ctx.budget.check()
        try:
            bound = function.bind(args)
            if function.uses_context:
                result = function.impl(self.ctx, *bound)
            else:
                result = function.impl(*bound)
        except QueryError as exc:
            raise _located(exc, call) from None
        if isinstance(result, list):
            self.ctx.budget.check_length(len(result))
        return result

    def _binop(self, op: str, left: Any, right: Any) -> Any:
        left = as_list(left)
        right = as_list(right)
        if op == "==":
            return _equal(left, right)
        if op == "!=":
            return not _equal(left, right)
        if op in ("<", "<=", ">", ">="):
            if not (
                (_is_number(left) and _is_number(right))
                or (isinstance(left, str) and isinstance(right, str))
            ):
                raise QueryError(
                    f"cannot compare {type_name(left)} {op} {type_name(right)}; "
                    "only numbers with numbers and strings with strings"
                )
            if op == "<":
                return left < right
            if op == "<=":
                return left <= right
            if op == ">":
                return left > right
            return left >= right
        if op == "+":
            if isinstance(left, list) and isinstance(right, list):
                self.ctx.budget.check_length(len(left) + len(right))
                return left + right
            if isinstance(left, str) and isinstance(right, str):
                if len(left) + len(right) > MAX_STRING_CHARS:
                    raise QueryError(f"string longer than {MAX_STRING_CHARS} characters")
                return left + right
            if not (_is_number(left) and _is_number(right)):
                raise QueryError(
                    f"cannot add {type_name(left)} and {type_name(right)}; '+' joins two "
                    "numbers, two lists or two strings"
                )
            return _checked(left + right)
        if not (_is_number(left) and _is_number(right)):
            raise QueryError(
                f"'{op}' needs two numbers, got {type_name(left)} and {type_name(right)}"
            )
        if op == "-":
            return _checked(left - right)
        if op == "*":
            return _checked(left * right)
        if right == 0:
            raise QueryError("division by zero")
        if op == "/":
            return _checked(left / right)
        # "%" keeps the sign of the dividend, as aw-server-rust's f64 remainder does.
        if isinstance(left, int) and isinstance(right, int):
            remainder = abs(left) % abs(right)
            return -remainder if left < 0 else remainder
        return _checked(math.fmod(left, right))


def _equal(left: Any, right: Any) -> bool:
    """Python equality, except that booleans only equal booleans (true != 1); event
    tables nested in lists or dicts compare as the events they hold."""
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(_plain(left) == _plain(right))


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return as_list(value)


def _checked(value: int | float) -> int | float:
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise QueryError("integer result too large")
    elif not math.isfinite(value):
        raise QueryError("arithmetic result is not a finite number")
    return value


def _located(exc: QueryError, node: ast.Node) -> QueryError:
    """Attach the node's position to an error raised without one (inside a function)."""
    if exc.line is not None:
        return exc
    return QueryError(exc.message, line=node.line, column=node.col)
