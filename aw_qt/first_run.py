"""The welcome on the very first start: tracking has begun, where the data is, how to
pause, and the dashboard one click away. Shown once per profile, never again.

An automatic tracker that starts silently leaves a new user wondering whether it does
anything at all, and whether it records before they agreed to anything; a tray icon
alone says neither. The marker file is written when the welcome is shown, so a crash
afterwards does not bring it back on every start.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

WELCOME_TITLE = "Welcome to ActivityWatch"


class FirstRun:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def due(self) -> bool:
        return not self.marker.exists()

    def done(self) -> None:
        try:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.write_text("The welcome message was shown.\n", encoding="utf-8")
        except OSError as exc:  # at worst the welcome shows again next time
            logger.warning("cannot write %s: %s", self.marker, exc)


def welcome_text(data_location: str, *, tray: bool) -> str:
    where = ("the ActivityWatch icon in the system tray (click it for its menu)" if tray
             else "the Menu button of the ActivityWatch window")
    return (
        "ActivityWatch is now tracking which application and window you use, and when "
        "you are away from the computer.\n\n"
        f"Everything stays on this computer, in {data_location}.\n\n"
        f"To pause, choose Pause tracking from {where}. The dashboard shows your "
        "day.")
