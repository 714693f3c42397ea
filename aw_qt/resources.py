"""Where the icons and the desktop entry are, however aw-qt was installed. No Qt here:
the autostart entry needs the icon's path too, and it is written without a screen.

A checkout and a bundle carry `resources/` beside the code. A pip install puts it
under the install scheme's data folder (pyproject's data-files, `share/aw-reimpl/`),
which is `sys.prefix` for a venv, but `/usr/local` for a system-wide install on Debian
and `~/.local` for `pip install --user`; each is tried.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

DATA_SUBDIR = Path("share") / "aw-reimpl" / "resources"
DESKTOP_ICON_SIZE = 256


def _candidates() -> list[Path]:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return [Path(bundle) / "resources"]
    found = [Path(__file__).resolve().parent.parent / "resources", Path(sys.prefix) / DATA_SUBDIR]
    schemes = [sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")]
    for scheme in schemes:
        try:
            found.append(Path(sysconfig.get_path("data", scheme)) / DATA_SUBDIR)
        except KeyError:  # a scheme this interpreter does not know
            continue
    return found


def resources_dir() -> Path:
    """The first folder that holds our icons; the venv's when none does (the caller
    then falls back to a drawn icon and logs where it looked)."""
    candidates = _candidates()
    for folder in candidates:
        if (folder / "aw-qt.svg").is_file():
            return folder
    return candidates[1] if len(candidates) > 1 else candidates[0]


def desktop_icon() -> Path | None:
    """The packaged icon a desktop entry should name by absolute path: a pip install
    puts nothing into the icon theme, so a theme name (`Icon=activitywatch`) would
    show a blank square in the login-items list."""
    folder = resources_dir()
    for path in (folder / "icons" / f"aw-qt-{DESKTOP_ICON_SIZE}.png", folder / "aw-qt.svg"):
        if path.is_file():
            return path.resolve()
    return None
