"""A native Wayland test window (Qt) whose title follows the lines written to its stdin.

    python -m tests.watchers.wayland.qt_window APP_ID "first title"

The app id becomes the xdg-toplevel app id (Qt takes it from the desktop file name),
which is what a compositor reports as the window's app. Used where foot cannot run:
foot 1.13 dies of SIGFPE on KWin's virtual output, which reports a physical size of
-1 x -1 mm.
"""

from __future__ import annotations

import os
import sys

from PyQt6.QtCore import QSocketNotifier
from PyQt6.QtWidgets import QApplication, QLabel


def main() -> int:
    app_id, title = sys.argv[1], sys.argv[2]
    app = QApplication([sys.argv[0]])
    app.setDesktopFileName(app_id)
    window = QLabel(app_id)
    window.setWindowTitle(title)
    window.resize(400, 200)
    window.show()

    pending = b""

    def retitle() -> None:
        nonlocal pending
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:  # the test closed our stdin: done
            app.quit()
            return
        *lines, pending = (pending + chunk).split(b"\n")
        if lines:
            window.setWindowTitle(lines[-1].decode("utf-8"))

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(retitle)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
