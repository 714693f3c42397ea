"""The tray icon and its wiring: show state, forward clicks, nothing more.

`TrayApp` ticks the Controller once a second, turns Supervisor news and the Controller's
notices (sync failures, import results) into balloons and dialogs, offers a found
ActivityWatch database once at start, and, when no tray appears within the wait, shows
`NoTrayWindow` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, QUrl
from PyQt6.QtGui import QColor, QDesktopServices, QIcon, QPainter, QPixmap
from PyQt6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from aw_qt import dialogs
from aw_qt.background import Notice
from aw_qt.controller import Controller
from aw_qt.gnome_offer import GnomeExtensionOffer
from aw_qt.importing import OfferAnswer
from aw_qt.menu import AppMenu, MenuHooks
from aw_qt.pairing_dialog import PairingDialog
from aw_qt.server import ServerMode
from aw_qt.window import NoTrayWindow
from watchers.resources import resources_dir

logger = logging.getLogger(__name__)

TICK_MS = 1000
TRAY_POLL_MS = 250


def load_icon(paused: bool = False) -> QIcon:
    name = "aw-qt-paused" if paused else "aw-qt"
    icon = QIcon()
    folder = resources_dir()
    for png in sorted((folder / "icons").glob(f"{name}-*.png")):
        if png.stem.removeprefix(name + "-").isdigit():
            icon.addFile(str(png))
    if icon.isNull():
        icon = QIcon(str(folder / f"{name}.svg"))
    if icon.isNull():  # resources missing from this install: a plain disc still works
        logger.warning("tray icons not found in %s", folder)
        pixmap = QPixmap(32, 32)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        painter.setBrush(QColor("#5a6169" if paused else "#f29d38"))
        painter.drawEllipse(2, 2, 28, 28)
        painter.end()
        icon = QIcon(pixmap)
    return icon


def _open_url(url: str) -> None:
    """A bundle opens it through xdg-open with the user's environment (ActivityWatch
    #208/#418: with the bundle's LD_LIBRARY_PATH the browser did not start)."""
    from aw_qt.environment import open_with_desktop

    if open_with_desktop(url):
        return
    if not QDesktopServices.openUrl(QUrl(url)):
        logger.warning("no browser could open %s", url)


def _open_folder(path: Path) -> None:
    """Like `_open_url`: the file manager must not inherit the bundle's libraries."""
    from aw_qt.environment import open_with_desktop

    if open_with_desktop(str(path)):
        return
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        logger.warning("no file manager could open %s", path)


class TrayApp(QObject):
    def __init__(self, ctl: Controller, *, tray_wait_s: float = 10.0,
                 open_url: Callable[[str], None] | None = None,
                 open_folder: Callable[[Path], None] | None = None,
                 ask_export_path: Callable[[], tuple[Path, str] | None] | None = None,
                 ask_import_path: Callable[[Path], Path | None] | None = None,
                 quit_app: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.ctl = ctl
        self.tray_wait_s = tray_wait_s
        self._open_url = open_url or _open_url
        self._open_folder = open_folder or _open_folder
        self._ask_export_path = ask_export_path or dialogs.choose_export_path
        self._ask_import_path = ask_import_path or dialogs.choose_import_path
        self._quit_app = quit_app or QApplication.quit
        self.dialogs: list[QObject] = []  # keep non-modal dialogs alive
        self.icons = {False: load_icon(False), True: load_icon(True)}
        self.hooks = MenuHooks(open_url=self._open_url, open_folder=self._open_folder,
                               export=self.export, show_error=self.show_error,
                               quit=self.quit, changed=self.refresh,
                               import_data=self.import_data, pair_device=self.pair_device,
                               unpair=self.confirm_unpair)
        self.app_menu = AppMenu(ctl, self.hooks, parent=self)
        self.tray = QSystemTrayIcon(self.icons[False], self)
        self.tray.setContextMenu(self.app_menu.menu)
        self.tray.activated.connect(self._activated)
        self.window: NoTrayWindow | None = None
        self.export_progress: dialogs.ExportProgress | None = None
        self.pairing: PairingDialog | None = None
        self._waited_ms = 0
        self._quitting = False
        self._shown: tuple[bool, str] | None = None
        sup = ctl.supervisor
        sup.on_change = self.refresh
        sup.on_restarted = self._restarted
        sup.on_gave_up = self._gave_up
        sup.on_unsupported = self._unsupported
        self.gnome_offer = GnomeExtensionOffer(self)  # GNOME: offers our extension instead
        ctl.notify = self.show_notice
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.tray_timer = QTimer(self)
        self.tray_timer.setInterval(TRAY_POLL_MS)
        self.tray_timer.timeout.connect(self._wait_for_tray)

    # -- start ------------------------------------------------------------------------------
    def start(self) -> None:
        self.refresh()
        self.timer.start()
        if self.ctl.server.mode is ServerMode.UNAVAILABLE:
            self.show_error(self.ctl.server.problem)
        self.offer_import()
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._show_tray()
        else:
            logger.info("no system tray yet; waiting up to %.0f s", self.tray_wait_s)
            self.tray_timer.start()

    def _show_tray(self) -> None:
        self.tray_timer.stop()
        self.tray.show()
        logger.info("tray icon shown")
        if self.window is not None:
            self.window.hide()

    def _wait_for_tray(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._show_tray()
            return
        self._waited_ms += TRAY_POLL_MS
        if self.window is None and self._waited_ms >= self.tray_wait_s * 1000:
            logger.warning("no system tray after %.0f s; showing a window instead "
                           "(tracking goes on)", self.tray_wait_s)
            self.window = NoTrayWindow(AppMenu(self.ctl, self.hooks, parent=self),
                                       icon=self.icons[False])
            self.window.show()
            self.tray_timer.setInterval(5000)  # a tray that appears later still wins

    # -- state -----------------------------------------------------------------------------
    def tick(self) -> None:
        self.ctl.tick()
        self.refresh()

    def refresh(self) -> None:
        paused = self.ctl.is_paused()
        tooltip = f"{self.ctl.tooltip()}: {self.ctl.status_line()}"
        if (paused, tooltip) != self._shown:  # only talk to the tray host on a change
            self._shown = (paused, tooltip)
            self.tray.setIcon(self.icons[paused])
            self.tray.setToolTip(tooltip)
        if self.app_menu.menu.isVisible():
            self.app_menu.refresh()
        if self.window is not None:
            self.window.refresh()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.DoubleClick:
            self._open_url(self.ctl.dashboard_url)

    def _restarted(self, name: str, attempt: int) -> None:
        self.notify("ActivityWatch", f"Module {name} crashed and was restarted "
                                     f"(attempt {attempt} of 3)")
        self.refresh()

    def _gave_up(self, name: str, log_tail: str) -> None:
        def restart() -> None:
            self.ctl.restart_module(name)
            self.refresh()

        self.dialogs.append(dialogs.crash_dialog(name, log_tail, restart))

    def _unsupported(self, name: str, reason: str) -> None:
        """A watcher that cannot track this desktop: its reason, once (it is not restarted)."""
        self.dialogs.append(dialogs.notice(f"{name} cannot track this desktop, so it is "
                                           f"stopped.\n\n{reason}", error=False))
        self.refresh()

    # -- dialogs ---------------------------------------------------------------------------
    def notify(self, title: str, text: str) -> None:
        logger.info("%s: %s", title, text)
        if self.tray.isVisible() and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray.showMessage(title, text, self.icons[False], 5000)

    def show_error(self, text: str) -> None:
        logger.error("%s", text)
        self.dialogs.append(dialogs.notice(text))

    def show_notice(self, notice: Notice) -> None:
        if notice.error:
            self.show_error(notice.text)
        else:
            self.notify(notice.title, notice.text)

    # -- import ------------------------------------------------------------------------------
    def offer_import(self) -> None:
        """Once, at start: ask before importing a found ActivityWatch database."""
        imports = self.ctl.imports
        path = imports.offer()
        if path is None:
            return

        def answered(choice: OfferAnswer) -> None:
            notice = imports.answer(choice, path)
            if notice is not None:
                self.show_notice(notice)
            self.refresh()

        self.dialogs.append(dialogs.import_offer(imports.offer_text(path), answered))

    def import_data(self) -> None:
        imports = self.ctl.imports
        if not imports.can_start():
            self.show_error(imports.unavailable or "An import is already running.")
            return
        path = self._ask_import_path(imports.default_path())
        if path is None:
            return
        notice = imports.start(path)
        if notice is not None:
            self.show_notice(notice)

    # -- sync --------------------------------------------------------------------------------
    def pair_device(self) -> None:
        if self.pairing is not None:
            if self.pairing.isVisible():
                self.pairing.raise_()
                self.pairing.activateWindow()
                return
            self.pairing.deleteLater()
        self.pairing = PairingDialog(self.ctl.sync, self.refresh)
        self.pairing.show()

    def confirm_unpair(self, device_id: str) -> None:
        name = next((p.name for p in self.ctl.sync.peers() if p.device_id == device_id),
                    device_id[:8])

        def unpair(purge: bool) -> None:
            self.ctl.sync.unpair(device_id, purge=purge)
            self.refresh()

        self.dialogs.append(dialogs.unpair_box(name, unpair))

    def export(self) -> None:
        if self.export_progress is not None and not self.export_progress.job.finished.is_set():
            self.show_error("An export is already running.")
            return
        choice = self._ask_export_path()
        if choice is None:
            return
        path, fmt = choice
        job = self.ctl.export_job(path, fmt)
        problem = job.check_writable()
        if problem:
            self.show_error(problem)
            return
        self.export_progress = dialogs.ExportProgress(job, self.notify, self.show_error, self)
        self.export_progress.start()

    # -- the end ---------------------------------------------------------------------------
    def quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        self.timer.stop()
        self.tray_timer.stop()
        for box in self.dialogs:
            if isinstance(box, QMessageBox):
                box.close()
        if self.pairing is not None:
            self.pairing.timer.stop()
            self.pairing.close()
        self.ctl.shutdown()
        self.tray.hide()
        if self.window is not None:
            # Qt 6 cancels a quit when a visible window refuses to close, and this one
            # only minimises (seen on GNOME: SIGTERM left aw-qt running).
            self.window.hide()
        self._quit_app()
