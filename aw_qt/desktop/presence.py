"""Tray icon or window: which of the two a user can reach aw-qt through, right now.

Plain Python; the Qt side feeds it whether a tray host exists and shows what it says.
Without a tray (GNOME as shipped, a panel that crashed) aw-qt must stay reachable, or
the user can neither pause nor quit it. So:

- with a tray the icon is shown and the window hidden;
- without one, after `wait_s` (at start: panels often come up a moment after the
  session's programs; mid-session: a panel that restarts comes back quickly), the
  window is shown;
- closing the window with no tray, and choosing to keep tracking, hides it until the
  user asks for it again (`summon`: a second launch) or a tray comes and goes again.
"""

from __future__ import annotations

from enum import Enum

NO_TRAY_WAIT_S = 0.5

HOW_TO_RETURN = ("start ActivityWatch again (the aw-qt command, or its entry in your "
                 "applications menu)")
BACKGROUND_TEXT = (f"ActivityWatch keeps tracking in the background; {HOW_TO_RETURN} to get "
                   "its window back.")
CLOSE_TITLE = "Quit ActivityWatch?"
CLOSE_QUESTION = (
    "Your desktop has no system tray, so this window is the only way to reach "
    "ActivityWatch.\n\nQuit ActivityWatch (tracking stops), or keep tracking in the "
    f"background?\n\nIn the background nothing is shown: {HOW_TO_RETURN} to bring this "
    "window back.")


class Face(Enum):
    """What the user sees of aw-qt."""

    ICON = "icon"
    WINDOW = "window"
    WAITING = "waiting"  # no tray yet; the window comes if none appears in time
    HIDDEN = "hidden"  # no tray, and the user sent the window to the background


class TrayPresence:
    def __init__(self, wait_s: float = NO_TRAY_WAIT_S) -> None:
        self.wait_s = wait_s
        self._missing_since: float | None = None  # when the tray was last seen to go
        self._dismissed = False
        self._summoned = False
        self.face = Face.WAITING

    def observe(self, tray_available: bool, now: float) -> Face:
        """Called on every poll, with a monotonic `now`; returns the face to show."""
        if tray_available:
            self._missing_since = None
            self._dismissed = self._summoned = False
            self.face = Face.ICON
            return self.face
        if self._missing_since is None:
            self._missing_since = now
        if self._summoned:
            self.face = Face.WINDOW
        elif self._dismissed:
            self.face = Face.HIDDEN
        elif now - self._missing_since >= self.wait_s:
            self.face = Face.WINDOW
        else:
            self.face = Face.WAITING
        return self.face

    def dismiss(self) -> None:
        """The user closed the window and chose to keep tracking."""
        self._dismissed = True
        self._summoned = False

    def summon(self) -> None:
        """A second launch: show the window at once if there is no tray."""
        self._dismissed = False
        self._summoned = True
