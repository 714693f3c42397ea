"""Where the project's `resources/` folder is, for code that must not import Qt.

Three layouts exist: a PyInstaller bundle unpacks it next to the executable's modules
(`sys._MEIPASS`), a source checkout has it beside the packages, and a pip install puts
it under `<prefix>/share/aw-reimpl/` (pyproject's data-files).
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "aw-reimpl" / "resources"
