"""Scripted desktop sessions: focus windows on a schedule and compare with what was recorded.

Used by the integration tests and by `bench/watcher_accuracy.py` (the 30-minute run).
The schedule is kept on absolute deadlines, and the played times are measured around
each focus command that returns once it took effect (`xdotool windowactivate --sync` on
X11, `swaymsg` on sway, ...), so the comparison is with what really happened on the
display server, not with the nominal plan.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tests.watchers.helpers import wait_until


class Desktop(Protocol):
    """What `play` needs: an X session, or a Wayland test session focusing by its own means."""

    def activate(self, window: Any) -> None: ...


@dataclass(frozen=True)
class Step:
    window: str  # key into the window table
    seconds: float


@dataclass(frozen=True)
class Played:
    window: str
    start: float  # wall-clock seconds
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def play(x: Desktop, windows: dict[str, Any], steps: Iterable[Step],
         after_step: Callable[[int], None] | None = None) -> list[Played]:
    """Focus each step's window for its duration; `after_step(i)` runs between steps.

    A hook's own running time is charged to the step it follows (the window stays
    focused meanwhile), so the played record stays exact.
    """
    played: list[Played] = []
    current: tuple[str, float] | None = None
    deadline = time.monotonic()
    for index, step in enumerate(steps):
        before = time.time()
        x.activate(windows[step.window])
        switched = (before + time.time()) / 2
        if current is not None:
            played.append(Played(current[0], current[1], switched))
        current = (step.window, switched)
        deadline = max(deadline, time.monotonic()) + step.seconds
        time.sleep(max(0.0, deadline - time.monotonic()))
        if after_step is not None:
            after_step(index)
    if current is not None:
        played.append(Played(current[0], current[1], time.time()))
    return played


def totals(pairs: Iterable[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for key, seconds in pairs:
        out[key] += seconds
    return dict(out)


def recorded_by(events: list[dict[str, Any]], key: str) -> dict[str, float]:
    return totals((e["data"][key], float(e["duration"])) for e in events)


def timestamp(event: dict[str, Any]) -> float:
    """An event's start, as wall-clock seconds."""
    return datetime.fromisoformat(str(event["timestamp"])).timestamp()


def away_and_back(give_input: Callable[[], None], saw: Callable[[str], bool],
                  away_s: float) -> tuple[float, float]:
    """Script an AFK watcher's day: input every 0.4 s for a while, then none until the
    watcher logs "Became AFK" and `away_s` more, then input again until it logs its
    return. Returns (the last input before, the first input after) as wall-clock times."""
    for _ in range(6):
        give_input()
        time.sleep(0.4)
    give_input()
    last_input = time.time()
    wait_until(lambda: saw("Became AFK"), "the watcher to notice AFK", timeout=30)
    time.sleep(away_s)
    give_input()
    back = time.time()
    wait_until(lambda: saw("No longer AFK"), "the watcher to notice the return", timeout=30)
    return last_input, back


def check_away_and_back(events: list[dict[str, Any]], last_input: float, back: float,
                        tolerance: float, timeout: float) -> None:
    """The AFK period starts at the last input (not when the timeout expired) and ends
    at the next input, within `tolerance` s; the not-afk event before it ends there too."""
    assert [e["data"]["status"] for e in events][-3:] == ["not-afk", "afk", "not-afk"], events
    active, away, returned = events[-3:]
    assert abs(timestamp(away) - last_input) <= tolerance
    assert abs(timestamp(active) + float(active["duration"]) - last_input) <= tolerance
    assert abs(timestamp(away) + float(away["duration"]) - back) <= tolerance
    assert abs(timestamp(returned) - back) <= tolerance
    assert float(away["duration"]) >= timeout
