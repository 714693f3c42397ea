"""Time as the supervisor sees it, injectable so tests can move it by hand."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall clock, timezone-aware in local time (pauses end at a wall time)."""
        ...

    def monotonic(self) -> float:
        """Seconds that never jump (restart budgets, shutdown deadlines)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now().astimezone()

    def monotonic(self) -> float:
        return time.monotonic()
