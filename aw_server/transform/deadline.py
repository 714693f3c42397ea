"""The hook long-running transforms use to give up when a query's time budget is spent.

Transforms stay pure: they do not know about query limits or errors, they only call
`check()` every few thousand events, and the caller's implementation decides whether
(and how) to abort by raising.
"""

from __future__ import annotations

from typing import Protocol

# Calling time.monotonic() per event would cost more than the work it guards; every
# CHECK_EVERY events keeps the overshoot far below a millisecond.
CHECK_EVERY = 2048


class Deadline(Protocol):
    def check(self) -> None:
        """Raise if the budget is exhausted; return otherwise."""
        ...


class NoDeadline:
    """For direct (non-query) callers and tests: never expires."""

    def check(self) -> None:
        return None


NO_DEADLINE = NoDeadline()
