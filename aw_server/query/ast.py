"""Syntax tree of a query2 program. Every node carries the line and column where it
starts, so runtime errors (unknown bucket, wrong argument type) point into the source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Node:
    line: int
    col: int


# Expressions


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: int | float | str | bool


@dataclass(frozen=True, slots=True)
class Var(Node):
    name: str


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class DictExpr(Node):
    items: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class BinOp(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Expr


Expr = Literal | Var | ListExpr | DictExpr | Call | BinOp | Neg


# Statements


@dataclass(frozen=True, slots=True)
class Assign(Node):
    name: str
    value: Expr


@dataclass(frozen=True, slots=True)
class Return(Node):
    """`return expr;` (aw-server-rust), equivalent to `RETURN = expr;`."""

    value: Expr


@dataclass(frozen=True, slots=True)
class ExprStmt(Node):
    """A bare expression such as `print(x);`, evaluated for its errors and output."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class If(Node):
    """`if c {..} elif c {..} else {..}`: the first branch whose condition is true runs."""

    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    orelse: tuple[Stmt, ...]


Stmt = Assign | Return | ExprStmt | If


@dataclass(frozen=True, slots=True)
class Program:
    statements: tuple[Stmt, ...]
