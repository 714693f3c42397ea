"""Tokenizer for query2 programs: text in, `Token`s with line and column out.

The program is the request's lines joined with "\\n", so a token's line is the index
(1-based) of the request line it came from. Columns count characters from 1.

Strings follow both ActivityWatch servers: inside "..." or '...' a backslash before the
closing quote character produces that quote; every other backslash is kept as written,
so regexes like "\\d+" reach the regex engine unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aw_server.errors import QueryError


class Kind(Enum):
    NUMBER = "number"
    STRING = "string"
    IDENT = "name"
    KEYWORD = "keyword"
    OP = "operator"
    EOF = "end of program"


KEYWORDS = frozenset({"if", "elif", "else", "return", "true", "false", "True", "False"})

# Longest first, so "==" is not read as "=" "=".
_OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%")
_PUNCTUATION = frozenset("()[]{},:;")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the source text, except for STRING where it is the decoded value
    line: int
    col: int
    value: object = None  # int/float for NUMBER, str for STRING

    def describe(self) -> str:
        if self.kind is Kind.EOF:
            return "end of program"
        if self.kind is Kind.STRING:
            return "a string"
        return repr(self.text)


def _is_name_start(char: str) -> bool:
    return char == "_" or char.isalpha()


def _is_name_char(char: str) -> bool:
    return char == "_" or char.isalnum()


class Lexer:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def _error(self, message: str, pos: int | None = None) -> QueryError:
        at = self.pos if pos is None else pos
        return QueryError(message, line=self.line, column=at - self.line_start + 1)

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        src = self.src
        length = len(src)
        while True:
            self._skip_blanks()
            if self.pos >= length:
                out.append(Token(Kind.EOF, "", self.line, self.pos - self.line_start + 1))
                return out
            char = src[self.pos]
            col = self.pos - self.line_start + 1
            if char in "\"'":
                out.append(self._string(char))
            elif char.isdigit() and char.isascii():
                out.append(self._number())
            elif _is_name_start(char):
                start = self.pos
                while self.pos < length and _is_name_char(src[self.pos]):
                    self.pos += 1
                text = src[start : self.pos]
                kind = Kind.KEYWORD if text in KEYWORDS else Kind.IDENT
                out.append(Token(kind, text, self.line, col))
            elif char in _PUNCTUATION:
                self.pos += 1
                out.append(Token(Kind.OP, char, self.line, col))
            else:
                for op in _OPERATORS:
                    if src.startswith(op, self.pos):
                        self.pos += len(op)
                        out.append(Token(Kind.OP, op, self.line, col))
                        break
                else:
                    raise self._error(f"unexpected character {char!r}")

    def _skip_blanks(self) -> None:
        src = self.src
        length = len(src)
        while self.pos < length:
            char = src[self.pos]
            if char == "\n":
                self.pos += 1
                self.line += 1
                self.line_start = self.pos
            elif char in " \t\r\f\v":
                self.pos += 1
            elif char == "#":
                end = src.find("\n", self.pos)
                self.pos = length if end < 0 else end
            else:
                return

    def _string(self, quote: str) -> Token:
        src = self.src
        start = self.pos
        line, col = self.line, start - self.line_start + 1
        parts: list[str] = []
        i = start + 1
        length = len(src)
        while True:
            if i >= length:
                raise QueryError("unterminated string", line=line, column=col)
            char = src[i]
            if char == quote:
                break
            if char == "\\" and i + 1 < length:
                following = src[i + 1]
                # Only the quote is unescaped (both servers). Any other escaped character,
                # a backslash included, is kept with its backslash but skipped as a pair,
                # so a string can end in an escaped backslash.
                parts.append(following if following == quote else char + following)
                i += 2
                if following == "\n":
                    self.line += 1
                    self.line_start = i
                continue
            parts.append(char)
            i += 1
            if char == "\n":
                self.line += 1
                self.line_start = i
        self.pos = i + 1
        value = "".join(parts)
        return Token(Kind.STRING, value, line, col, value)

    def _number(self) -> Token:
        src = self.src
        start = self.pos
        col = start - self.line_start + 1
        length = len(src)
        i = start
        while i < length and src[i].isascii() and src[i].isdigit():
            i += 1
        is_float = False
        if i < length and src[i] == ".":
            is_float = True
            i += 1
            while i < length and src[i].isascii() and src[i].isdigit():
                i += 1
        if i < length and src[i] in "eE":
            j = i + 1
            if j < length and src[j] in "+-":
                j += 1
            if j < length and src[j].isascii() and src[j].isdigit():
                is_float = True
                i = j
                while i < length and src[i].isascii() and src[i].isdigit():
                    i += 1
        text = src[start:i]
        self.pos = i
        if i < length and _is_name_start(src[i]):
            raise self._error(f"invalid number {text + src[i]!r}", start)
        if is_float:
            number: int | float = float(text)
            if number == float("inf"):
                raise self._error(f"number {text} is too large", start)
        else:
            if len(text) > 19:
                raise self._error(f"integer {text} is too large", start)
            number = int(text)
        return Token(Kind.NUMBER, text, self.line, col, number)


def tokenize(source: str) -> list[Token]:
    return Lexer(source).tokens()
