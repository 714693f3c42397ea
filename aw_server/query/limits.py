"""Budgets that keep one query from monopolising the server.

Time is checked between statements, between function calls and every few thousand
events inside long transforms. Memory is bounded indirectly: by the number of events a
query may read from storage and the length any list may reach.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aw_server.errors import QueryTooExpensive

# Strings only grow through "+"; without a cap, 40 doublings of a short string would
# need a terabyte.
MAX_STRING_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_seconds: float = 30.0
    # A year of a busy desktop is ~5M window events plus AFK and browser buckets: a
    # 365-day summary must fit (bench/query_http_bench.py --year).
    max_events: int = 12_000_000


DEFAULT_LIMITS = QueryLimits()


class Budget:
    """One request's budget, shared by all its time periods (implements `Deadline`)."""

    def __init__(
        self, limits: QueryLimits, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.expires_at = clock() + limits.max_seconds
        self.events_read = 0

    def check(self) -> None:
        if self.clock() > self.expires_at:
            raise QueryTooExpensive(
                f"query took longer than {self.limits.max_seconds:g} s; "
                "try a shorter time period"
            )

    def charge_events(self, count: int) -> None:
        """Account for `count` events about to be read from storage."""
        self.events_read += count
        if self.events_read > self.limits.max_events:
            raise QueryTooExpensive(
                f"query would read more than {self.limits.max_events} events; "
                "try a shorter time period"
            )

    def check_length(self, length: int) -> None:
        if length > self.limits.max_events:
            raise QueryTooExpensive(
                f"query built a list of more than {self.limits.max_events} items"
            )
