"""The packaged icon a desktop entry names; where resources live is `watchers.resources`."""

from __future__ import annotations

from pathlib import Path

from watchers.resources import resources_dir

DESKTOP_ICON_SIZE = 256


def desktop_icon() -> Path | None:
    """The packaged icon a desktop entry should name by absolute path: a pip install
    puts nothing into the icon theme, so a theme name (`Icon=activitywatch`) would
    show a blank square in the login-items list."""
    folder = resources_dir()
    for path in (folder / "icons" / f"aw-qt-{DESKTOP_ICON_SIZE}.png", folder / "aw-qt.svg"):
        if path.is_file():
            return path.resolve()
    return None
