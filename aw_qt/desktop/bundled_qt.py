"""Pointing Qt at the bundle's own plugins, done by aw-qt itself instead of at start.

PyInstaller's PyQt6 runtime hook does this in every process of the bundle, and it
imports `PyQt6.QtCore` to do it: each watcher and the query worker, all started as
this same executable, then carried Qt's libraries (about 12 MB of RSS each) without
ever showing a window. The spec (aw-qt.spec) leaves that hook out, and the Qt views
call `use_bundled_qt_plugins` before their first PyQt6 import, so only the process
that shows the tray pays for Qt.
"""

from __future__ import annotations

import os
import sys


def bundled_qt_folder() -> str | None:
    """The bundle's `PyQt6/Qt6` folder (Qt's prefix), or None outside a bundle."""
    meipass = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or not meipass:
        return None
    for name in ("Qt6", "Qt"):  # the wheel layout since PyQt6 6.0.3, then the older one
        folder = os.path.join(meipass, "PyQt6", name)
        if os.path.isdir(folder):
            return folder
    return None


def use_bundled_qt_plugins() -> None:
    """What the hook did that matters here: Qt loads its plugins from the bundle only.

    A user's own `QT_PLUGIN_PATH` (a system Qt's plugins, built for another Qt version)
    must not reach the bundled Qt; `child_environment` gives it back to the programs
    aw-qt starts. Qt's prefix itself comes from the qt.conf that PyQt6's wheel embeds.
    """
    folder = bundled_qt_folder()
    if folder is None:
        return
    os.environ["QT_PLUGIN_PATH"] = os.path.join(folder, "plugins")
    os.environ["QML2_IMPORT_PATH"] = os.path.join(folder, "qml")
    if sys.platform.startswith("win"):  # Qt's OpenSSL DLLs may sit beside our libraries
        meipass = str(getattr(sys, "_MEIPASS", ""))
        os.environ["PATH"] = os.pathsep.join([meipass, os.environ.get("PATH", "")])
