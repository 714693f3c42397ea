"""Shared setup for query tests: a small two-bucket desktop in a MemorySource."""

from __future__ import annotations

from typing import Any

from aw_server.models import US_PER_S, Event, format_us
from aw_server.query import QueryCache, QueryLimits, run_query
from aw_server.query.limits import DEFAULT_LIMITS
from tests.aw_server.query.memory_source import MemorySource

# 2024-03-09T23:59:00Z, a minute before midnight.
T0 = 1_710_028_740 * US_PER_S
WINDOW = "aw-watcher-window_laptop"
AFK = "aw-watcher-afk_laptop"


def at(seconds: float) -> int:
    return T0 + round(seconds * US_PER_S)


def period(start_s: float, end_s: float) -> str:
    return f"{format_us(at(start_s))}/{format_us(at(end_s))}"


def ev(start_s: float, duration_s: float, **data: Any) -> Event:
    return Event(at(start_s), round(duration_s * US_PER_S), data)


def desktop() -> MemorySource:
    """Window events across midnight, an AFK bucket, and a bucket on another host."""
    source = MemorySource()
    source.add_bucket(WINDOW, type="currentwindow", hostname="laptop")
    source.add_bucket(AFK, type="afkstatus", hostname="laptop")
    source.add_bucket("aw-watcher-window_desktop", hostname="desktop")
    source.insert(WINDOW, [
        ev(0, 10, app="firefox", title="GitHub - PR"),
        ev(12, 5, app="code", title="main.py"),
        ev(17, 100, app="firefox", title="YouTube"),
        ev(117, 20, app="code", title="main.py"),
    ])
    source.insert(AFK, [ev(0, 50, status="not-afk"), ev(50, 60, status="afk"),
                        ev(110, 40, status="not-afk")])
    source.insert("aw-watcher-window_desktop", [ev(0, 30, app="steam", title="game")])
    return source


def run(
    program: str | list[str],
    source: MemorySource | None = None,
    periods: list[str] | None = None,
    *,
    cache: QueryCache | None = None,
    limits: QueryLimits = DEFAULT_LIMITS,
    name: str | None = None,
) -> list[Any]:
    lines = program.split("\n") if isinstance(program, str) else program
    return run_query(
        lines,
        periods or [period(0, 3600)],
        source or desktop(),
        name=name,
        cache=cache,
        limits=limits,
    )


def value(program: str, source: MemorySource | None = None) -> Any:
    """The single period's result of `program`."""
    return run(program, source)[0]
