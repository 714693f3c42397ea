"""A query request checked and parsed: what the server does before anything runs.

Every malformed request (not a list of strings, bad periods, empty or unparsable
program) is rejected here, in the server's own thread, so a typo costs a parse and not
a round trip to the query worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aw_server.errors import AWError, QueryError
from aw_server.models import parse_timestamp
from aw_server.query.ast import Program
from aw_server.query.parser import parse

Period = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """The program's text (part of every cache key), its tree and its periods in µs."""

    text: str
    tree: Program
    periods: tuple[Period, ...]


def parse_period(period: Any) -> Period:
    """"start/end" in ISO 8601 -> (start_us, end_us)."""
    if not isinstance(period, str):
        raise QueryError(f"a time period must be a string 'start/end', got {period!r}")
    parts = period.split("/")
    if len(parts) != 2:
        raise QueryError(f"a time period must look like 'start/end', got {period!r}")
    try:
        start_us = parse_timestamp(parts[0], "timeperiods")
        end_us = parse_timestamp(parts[1], "timeperiods")
    except AWError as exc:
        raise QueryError(f"invalid time period {period!r}: {exc.message}") from None
    if end_us < start_us:
        raise QueryError(f"time period {period!r} ends before it starts")
    return start_us, end_us


def program_text(program: Any) -> str:
    """The request's lines as one source text."""
    if isinstance(program, str):
        return program
    if not isinstance(program, list) or not all(isinstance(line, str) for line in program):
        raise QueryError("the query must be a list of strings")
    # Joined with "\n" (aw-server-rust) rather than "" (aw-server): line numbers in errors
    # then match the request's lines, and statements that aw-server accepts still parse
    # because a newline is only whitespace between tokens.
    return "\n".join(program)


def parse_request(program: Any, timeperiods: Any) -> ParsedQuery | None:
    """The checked request, or None when it has no periods: then the program is not even
    parsed, as in both ActivityWatch servers (they parse it once per period). The checks
    run in the order the errors have always been reported in."""
    text = program_text(program)
    if not isinstance(timeperiods, list):
        raise QueryError("'timeperiods' must be a list of 'start/end' strings")
    if not timeperiods:
        return None
    if not text.strip():
        raise QueryError("the query is empty")
    tree = parse(text)
    return ParsedQuery(text, tree, tuple(parse_period(period) for period in timeperiods))
