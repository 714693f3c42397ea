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
from typing import Any, Protocol


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
