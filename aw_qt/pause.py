"""Pausing tracking: when a pause ends, and remembering it across aw-qt restarts.

A pause stops the watcher processes (they flush their on-disk heartbeat queue on
SIGTERM, so nothing queued is lost) and records which ones were running. The record
lives in `pause[-testing].json` under aw-qt's data folder, so a timed pause still ends
at its time after aw-qt is restarted, and an open-ended one survives a restart too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum
from pathlib import Path

logger = logging.getLogger(__name__)

DAY_START = time(4, 0)  # ActivityWatch's default start of day ("startOfDay": "04:00")


class PauseChoice(Enum):
    MINUTES_15 = "15 minutes"
    HOUR_1 = "1 hour"
    UNTIL_TOMORROW = "Until tomorrow"
    UNTIL_RESUMED = "Until resumed"


def pause_end(choice: PauseChoice, now: datetime, day_start: time = DAY_START) -> datetime | None:
    """The wall time a pause chosen at `now` ends; None means it lasts until resumed.

    "Until tomorrow" ends at the next start of day (04:00 by default, like the
    dashboard's day boundary), so a pause taken late in the evening lasts the night.
    """
    if choice is PauseChoice.MINUTES_15:
        return now + timedelta(minutes=15)
    if choice is PauseChoice.HOUR_1:
        return now + timedelta(hours=1)
    if choice is PauseChoice.UNTIL_TOMORROW:
        boundary = now.replace(hour=day_start.hour, minute=day_start.minute, second=0,
                               microsecond=0)
        if boundary <= now:
            boundary += timedelta(days=1)
        return boundary
    return None


@dataclass(frozen=True)
class PauseState:
    until: datetime | None  # None: until resumed
    modules: tuple[str, ...]  # modules to start again on resume

    def expired(self, now: datetime) -> bool:
        return self.until is not None and now >= self.until

    def describe(self) -> str:
        if self.until is None:
            return "Paused until resumed"
        return f"Paused until {self.until.astimezone().strftime('%H:%M')}"


class PauseStore:
    """The pause record on disk; a missing or unreadable file means not paused."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> PauseState | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            until = raw.get("until")
            return PauseState(
                until=datetime.fromisoformat(until) if until else None,
                modules=tuple(str(m) for m in raw.get("modules", [])),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            logger.warning("ignoring unreadable pause file %s: %s", self.path, exc)
            return None

    def save(self, state: PauseState) -> None:
        doc = {"until": state.until.isoformat() if state.until else None,
               "modules": list(state.modules)}
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            logger.warning("could not save pause state to %s: %s", self.path, exc)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
