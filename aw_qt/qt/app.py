"""The GUI process: QApplication, signal handling, and the tray."""

from __future__ import annotations

import logging
import signal
import socket
import time

from PyQt6.QtCore import QObject, QSocketNotifier, QTimer
from PyQt6.QtWidgets import QApplication

from aw_qt.desktop.summon import SummonListener
from aw_qt.first_run import FirstRun
from aw_qt.qt import dialogs
from aw_qt.qt.icons import load_icon
from aw_qt.qt.tray import TrayApp
from aw_qt.startup import Options, StopRequest, build_controller, welcome_marker
from aw_qt.upgrade import pending_upgrade

logger = logging.getLogger(__name__)


def make_application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(["aw-qt"])  # the X11 WM_CLASS instance name
    app.setApplicationName("ActivityWatch")
    app.setQuitOnLastWindowClosed(False)
    return app


def wake_on_signals(parent: QObject) -> QSocketNotifier:
    """Let Qt's C++ loop notice a signal at once, so Python's handler runs promptly.

    Python runs signal handlers only when it gets control; the wakeup fd turns a
    signal into a readable socket that the loop watches.
    """
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read,  # type: ignore[call-overload]
                               parent)
    notifier.activated.connect(lambda *_: reader.recv(64))
    notifier.setProperty("sockets", (reader, writer))  # keep both ends alive
    return notifier


def run_gui(options: Options, stop: StopRequest,
            listener: SummonListener | None = None) -> int:
    started = time.monotonic()
    app = make_application()
    app.setWindowIcon(load_icon())
    if stop.event.is_set():
        return 0
    upgrade = pending_upgrade(testing=options.testing, port=options.port)
    if upgrade is not None:  # a new version's first start on a long history
        from aw_qt.qt.upgrade_window import run_upgrade

        if not run_upgrade(upgrade, stop, app.windowIcon()):
            return 0
    ctl = build_controller(options)
    tray = TrayApp(ctl, first_run=FirstRun(welcome_marker(options)))
    if listener is not None:
        tray.listen_for_summons(listener)
    wake_on_signals(tray)
    stop.callback = lambda: QTimer.singleShot(0, tray.quit)
    tray.start()
    logger.info("aw-qt ready in %.2f s (server %s, %s)", time.monotonic() - started,
                ctl.server.url, ctl.server.mode.value)
    if stop.event.is_set():  # a signal came during start-up
        QTimer.singleShot(0, tray.quit)
    try:
        app.exec()
    finally:
        tray.quit()  # no-op after a normal quit; stops everything if the loop died
    return 0


def show_already_running(message: str) -> None:
    """A second start launched from a menu would otherwise vanish without a word."""
    app = make_application()
    box = dialogs.notice(message, error=False, auto_close_ms=8000)
    box.finished.connect(app.quit)
    QTimer.singleShot(8500, app.quit)
    app.exec()
