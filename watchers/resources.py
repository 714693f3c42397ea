"""Where the project's `resources/` folder is, however it was installed. No Qt here:
the watchers need their protocol files and desktop scripts, and the autostart entry
needs the icon's path, all without a screen.

A PyInstaller bundle unpacks it next to its modules (`sys._MEIPASS`) and a source
checkout has it beside the packages. A pip install puts it under the install scheme's
data folder (pyproject's data-files, `share/aw-reimpl/`), which is `sys.prefix` for a
venv, but `/usr/local` for a system-wide install on Debian and `~/.local` for
`pip install --user`; each is tried.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

DATA_SUBDIR = Path("share") / "aw-reimpl" / "resources"
MARKER = "aw-qt.svg"  # every layout carries it; a folder without it is not ours


def _candidates() -> list[Path]:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return [Path(bundle) / "resources"]
    found = [Path(__file__).resolve().parent.parent / "resources", Path(sys.prefix) / DATA_SUBDIR]
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        try:
            found.append(Path(sysconfig.get_path("data", scheme)) / DATA_SUBDIR)
        except KeyError:  # a scheme this interpreter does not know
            continue
    return found


def resources_dir() -> Path:
    """The first candidate that holds our resources; the venv's when none does (callers
    then say what is missing and where they looked)."""
    candidates = _candidates()
    for folder in candidates:
        if (folder / MARKER).is_file():
            return folder
    return candidates[1] if len(candidates) > 1 else candidates[0]
