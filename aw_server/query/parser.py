"""Recursive-descent parser for query2, accepting what both ActivityWatch servers accept.

Grammar (lowest precedence first; binary operators are left-associative):

    program    := statement* EOF            (the last ";" may be omitted)
    statement  := ";" | if | "return" expr ";" | NAME "=" expr ";" | expr ";"
    if         := "if" expr block ("elif" expr block)* ("else" block)?
    block      := "{" statement* "}"
    expr       := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)*
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | true | false | True | False | NAME
                | NAME "(" [expr ("," expr)* [","]] ")"
                | "[" [expr ("," expr)* [","]] "]"
                | "{" [STRING ":" expr ("," STRING ":" expr)* [","]] "}"
                | "(" expr ")"
"""

from __future__ import annotations

from collections.abc import Callable

from aw_server.errors import QueryError
from aw_server.query import ast
from aw_server.query.lexer import Kind, Token, tokenize

# Deep nesting would otherwise end in RecursionError here or in the interpreter.
MAX_DEPTH = 100

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_BOOLEANS = {"true": True, "True": True, "false": False, "False": False}


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # Token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def _advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind is not Kind.EOF:
            self.pos += 1
        return token

    def _is(self, text: str) -> bool:
        token = self.tok
        return token.kind in (Kind.OP, Kind.KEYWORD) and token.text == text

    def _error(self, expected: str, token: Token | None = None) -> QueryError:
        token = token or self.tok
        return QueryError(
            f"expected {expected}, found {token.describe()}", line=token.line, column=token.col
        )

    def _expect(self, text: str, what: str | None = None) -> Token:
        if not self._is(text):
            raise self._error(what or repr(text))
        return self._advance()

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            token = self.tok
            raise QueryError(
                f"nesting deeper than {MAX_DEPTH} levels", line=token.line, column=token.col
            )

    # Statements

    def program(self) -> ast.Program:
        statements: list[ast.Stmt] = []
        while self.tok.kind is not Kind.EOF:
            statement = self.statement(at_top=True)
            if statement is not None:
                statements.append(statement)
        return ast.Program(tuple(statements))

    def _block(self) -> tuple[ast.Stmt, ...]:
        self._expect("{")
        statements: list[ast.Stmt] = []
        while not self._is("}"):
            if self.tok.kind is Kind.EOF:
                raise self._error("'}' to close the block")
            statement = self.statement(at_top=False)
            if statement is not None:
                statements.append(statement)
        self._advance()
        return tuple(statements)

    def _end_statement(self, at_top: bool) -> None:
        if self._is(";"):
            self._advance()
        elif not (at_top and self.tok.kind is Kind.EOF):
            raise self._error("';' after the statement")

    def statement(self, *, at_top: bool) -> ast.Stmt | None:
        token = self.tok
        if self._is(";"):
            self._advance()
            return None
        self._enter()
        try:
            if self._is("if"):
                return self._if()
            if self._is("return"):
                self._advance()
                value = self.expr()
                self._end_statement(at_top)
                return ast.Return(token.line, token.col, value)
            if token.kind is Kind.IDENT and self.tokens[self.pos + 1].text == "=" and (
                self.tokens[self.pos + 1].kind is Kind.OP
            ):
                self.pos += 2
                value = self.expr()
                self._end_statement(at_top)
                return ast.Assign(token.line, token.col, token.text, value)
            expr = self.expr()
            if self._is("="):
                raise self._error("';' (only a name can be assigned to)")
            self._end_statement(at_top)
            return ast.ExprStmt(token.line, token.col, expr)
        finally:
            self.depth -= 1

    def _if(self) -> ast.If:
        start = self._advance()
        branches = [(self.expr(), self._block())]
        orelse: tuple[ast.Stmt, ...] = ()
        while True:
            if self._is("elif"):
                self._advance()
                branches.append((self.expr(), self._block()))
            elif self._is("else"):
                self._advance()
                # "else if" reads naturally, so it is accepted as a nested if.
                orelse = (self._if(),) if self._is("if") else self._block()
                break
            else:
                break
        return ast.If(start.line, start.col, tuple(branches), orelse)

    # Expressions

    def expr(self) -> ast.Expr:
        self._enter()
        try:
            return self._chain(lambda: self.tok.kind is Kind.OP and self.tok.text in _COMPARISONS,
                               self._sum)
        finally:
            self.depth -= 1

    def _sum(self) -> ast.Expr:
        return self._chain(lambda: self._is("+") or self._is("-"), self._product)

    def _product(self) -> ast.Expr:
        return self._chain(lambda: self._is("*") or self._is("/") or self._is("%"), self._unary)

    def _chain(self, at_operator: Callable[[], bool], operand: Callable[[], ast.Expr]) -> ast.Expr:
        """A left-associative run `a op b op c`. Each operator nests the tree one level
        deeper (the interpreter recurses into `left`), so each counts toward MAX_DEPTH."""
        left = operand()
        entered = 0
        try:
            while at_operator():
                op = self._advance()
                self._enter()
                entered += 1
                left = ast.BinOp(op.line, op.col, op.text, left, operand())
            return left
        finally:
            self.depth -= entered

    def _unary(self) -> ast.Expr:
        if self._is("-"):
            op = self._advance()
            self._enter()
            try:
                return ast.Neg(op.line, op.col, self._unary())
            finally:
                self.depth -= 1
        return self._primary()

    def _primary(self) -> ast.Expr:
        token = self.tok
        if token.kind is Kind.NUMBER or token.kind is Kind.STRING:
            self._advance()
            assert isinstance(token.value, int | float | str)
            return ast.Literal(token.line, token.col, token.value)
        if token.kind is Kind.KEYWORD and token.text in _BOOLEANS:
            self._advance()
            return ast.Literal(token.line, token.col, _BOOLEANS[token.text])
        if token.kind is Kind.IDENT:
            self._advance()
            if self._is("("):
                self._advance()
                args = self._items(")", "an argument")
                return ast.Call(token.line, token.col, token.text, tuple(args))
            return ast.Var(token.line, token.col, token.text)
        if self._is("["):
            self._advance()
            return ast.ListExpr(token.line, token.col, tuple(self._items("]", "a list item")))
        if self._is("{"):
            self._advance()
            return self._dict(token)
        if self._is("("):
            self._advance()
            inner = self.expr()
            self._expect(")", "')'")
            return inner
        raise self._error("a value")

    def _items(self, close: str, what: str) -> list[ast.Expr]:
        """Comma-separated expressions up to `close`; a trailing comma is allowed (aw-core)."""
        items: list[ast.Expr] = []
        while not self._is(close):
            items.append(self.expr())
            if self._is(","):
                self._advance()
            elif not self._is(close):
                raise self._error(f"',' or {close!r} after {what}")
        self._advance()
        return items

    def _dict(self, start: Token) -> ast.DictExpr:
        items: list[tuple[str, ast.Expr]] = []
        while not self._is("}"):
            key = self.tok
            if key.kind is not Kind.STRING:
                raise self._error("a string key or '}'")
            self._advance()
            self._expect(":", "':' after the dict key")
            items.append((key.text, self.expr()))
            if self._is(","):
                self._advance()
            elif not self._is("}"):
                raise self._error("',' or '}' after a dict entry")
        self._advance()
        return ast.DictExpr(start.line, start.col, tuple(items))


def parse(source: str) -> ast.Program:
    """Parse a whole program; every problem is a `QueryError` with line and column."""
    return Parser(tokenize(source)).program()
