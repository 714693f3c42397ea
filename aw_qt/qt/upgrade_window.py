"""What the user sees while a new version upgrades their data (aw_qt/upgrade.py).

A small window with a progress bar, and the tray icon (where there is a tray) with the
same text as its tooltip and a Quit entry. Closing the window only hides it: the
upgrade goes on and the icon stays. Quit stops after the batch under way; the next
start goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QCoreApplication, QEventLoop, QTimer
from PyQt6.QtGui import QCloseEvent, QIcon
from PyQt6.QtWidgets import (
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from aw_qt.startup import StopRequest
from aw_qt.upgrade import DataUpgrade

UPGRADE_TITLE = "ActivityWatch: upgrading your data"
POLL_MS = 200
STEPS = 1000


class UpgradeWindow(QWidget):
    def __init__(self, icon: QIcon, on_quit: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("upgrade-window")
        self.setWindowTitle(UPGRADE_TITLE)
        self.setWindowIcon(icon)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        quit_button = QPushButton("Quit")
        quit_button.clicked.connect(on_quit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(quit_button)
        self.setMinimumWidth(420)

    def show_progress(self, text: str, fraction: float) -> None:
        self.label.setText(text)
        self.bar.setValue(int(fraction * STEPS))

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None:
            event.ignore()
        self.hide()


def run_upgrade(upgrade: DataUpgrade, stop: StopRequest, icon: QIcon) -> bool:
    """Run `upgrade` while showing its progress; False if the user quit (or a signal
    asked to stop) before it finished. A failed upgrade answers True: the server's
    start that follows reports the problem."""
    loop = QEventLoop()
    quitting = False

    def quit_now() -> None:
        nonlocal quitting
        quitting = True
        loop.quit()

    window = UpgradeWindow(icon, quit_now)
    tray = QSystemTrayIcon(icon)
    menu = QMenu()
    menu.addAction("Quit", quit_now)
    tray.setContextMenu(menu)

    def refresh() -> None:
        if upgrade.finished.is_set() or stop.event.is_set():
            loop.quit()
            return
        text = upgrade.text()
        window.show_progress(text, upgrade.fraction)
        tray.setToolTip(text)

    timer = QTimer()
    timer.timeout.connect(refresh)
    previous_callback = stop.callback
    stop.callback = lambda: QTimer.singleShot(0, loop.quit)
    upgrade.start()
    refresh()
    window.show()
    tray.show()
    timer.start(POLL_MS)
    try:
        if not upgrade.finished.is_set():
            loop.exec()
    finally:
        timer.stop()
        stop.callback = previous_callback
        window.hide()
        tray.hide()
        # Let Qt send the hiding now: the server's start that follows keeps the event
        # loop busy, and the window would linger on screen, looking stuck, until then.
        QCoreApplication.processEvents()
    if quitting or stop.event.is_set():
        upgrade.cancel()
        return False
    return True
