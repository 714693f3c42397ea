"""The small window shown when the desktop has no system tray (e.g. GNOME as shipped).

It offers the tray menu's actions through a button with the very same menu, and
says how to get a tray. Closing it is the owner's decision (`on_close`): with no tray
it asks whether to quit or to keep tracking in the background.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QCloseEvent, QIcon
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from aw_qt.qt.menu import AppMenu

NO_TRAY_HELP = (
    "Your desktop shows no system tray, so ActivityWatch runs in this window instead. "
    "Tracking goes on while the window is minimised or in the background.<br><br>"
    "On GNOME, install and enable the <b>AppIndicator and KStatusNotifierItem Support</b> "
    "extension (Debian/Ubuntu: <code>sudo apt install gnome-shell-extension-appindicator"
    "</code>, then turn it on in the Extensions app and log out and in). The tray icon "
    "then appears and this window goes away by itself."
)


class NoTrayWindow(QWidget):
    def __init__(self, menu: AppMenu, icon: QIcon | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.on_close = on_close or self.showMinimized
        self.setObjectName("no-tray-window")
        self.setWindowTitle("ActivityWatch")
        if icon is not None:
            self.setWindowIcon(icon)
        self.app_menu = menu
        self.status = QLabel()
        self.status.setObjectName("status")
        help_label = QLabel(NO_TRAY_HELP)
        help_label.setWordWrap(True)
        help_label.setTextFormat(Qt.TextFormat.RichText)
        self.dashboard = QPushButton("Open Dashboard")
        self.dashboard.clicked.connect(menu.actions["dashboard"].trigger)
        self.more = QPushButton("Menu")
        self.more.setObjectName("menu-button")
        self.more.setMenu(menu.menu)
        buttons = QHBoxLayout()
        buttons.addWidget(self.dashboard)
        buttons.addWidget(self.more)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        layout.addWidget(help_label)
        self.setMinimumWidth(420)
        self.refresh()

    def refresh(self) -> None:
        self.app_menu.refresh()
        self.status.setText(f"<b>{self.app_menu.actions['status'].text()}</b>")

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None:
            event.ignore()  # tracking goes on whatever the answer; the owner hides us
        self.on_close()
