"""The tray icon and its wiring: show state, forward clicks, nothing more.

`TrayApp` ticks the Controller once a second, turns Supervisor news and the Controller's
notices (sync failures, import results) into balloons and dialogs, offers a found
ActivityWatch database once at start, welcomes a new user once, and shows
`NoTrayWindow` whenever `TrayPresence` says there is no tray to show an icon in.

Clicks on the icon: a single left click opens the menu (after the double-click
interval, so that a double click, which opens the dashboard, does not flash it); on
macOS the system opens the menu itself on any click.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, QSocketNotifier, QTimer, QUrl
from PyQt6.QtGui import QCursor, QDesktopServices
from PyQt6.QtWidgets import QApplication, QDialog, QMessageBox, QSystemTrayIcon

from aw_qt.background_call import Notice
from aw_qt.controller import Controller, TrayLook
from aw_qt.desktop.presence import (
    BACKGROUND_TEXT,
    CLOSE_QUESTION,
    CLOSE_TITLE,
    NO_TRAY_WAIT_S,
    Face,
    TrayPresence,
)
from aw_qt.desktop.summon import SummonListener
from aw_qt.first_run import FirstRun, welcome_text
from aw_qt.qt import dialogs
from aw_qt.qt.gnome_offer import GnomeExtensionOffer
from aw_qt.qt.icons import TrayIcons
from aw_qt.qt.menu import AppMenu, MenuHooks
from aw_qt.qt.no_tray_window import NoTrayWindow
from aw_qt.qt.pairing_dialog import PairingDialog
from aw_qt.server import ServerMode
from aw_qt.transfer.importing import OfferAnswer

logger = logging.getLogger(__name__)

TICK_MS = 1000
TRAY_POLL_MS = 250


def _open_url(url: str) -> None:
    """A bundle opens it through xdg-open with the user's environment (ActivityWatch
    #208/#418: with the bundle's LD_LIBRARY_PATH the browser did not start)."""
    from aw_qt.desktop.child_environment import open_with_desktop

    if open_with_desktop(url):
        return
    if not QDesktopServices.openUrl(QUrl(url)):
        logger.warning("no browser could open %s", url)


def _open_folder(path: Path) -> None:
    """Like `_open_url`: the file manager must not inherit the bundle's libraries."""
    from aw_qt.desktop.child_environment import open_with_desktop

    if open_with_desktop(str(path)):
        return
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        logger.warning("no file manager could open %s", path)


class TrayApp(QObject):
    def __init__(self, ctl: Controller, *, tray_wait_s: float = NO_TRAY_WAIT_S,
                 open_url: Callable[[str], None] | None = None,
                 open_folder: Callable[[Path], None] | None = None,
                 ask_export_path: Callable[[], tuple[Path, str] | None] | None = None,
                 ask_import_path: Callable[[Path], Path | None] | None = None,
                 quit_app: Callable[[], None] | None = None,
                 first_run: FirstRun | None = None) -> None:
        super().__init__()
        self.ctl = ctl
        self.presence = TrayPresence(tray_wait_s)
        self.first_run = first_run
        self._open_url = open_url or _open_url
        self._open_folder = open_folder or _open_folder
        self._ask_export_path = ask_export_path or dialogs.choose_export_path
        self._ask_import_path = ask_import_path or dialogs.choose_import_path
        self._quit_app = quit_app or QApplication.quit
        self.dialogs: list[QObject] = []  # keep non-modal dialogs alive
        self.icons = TrayIcons()
        self.hooks = MenuHooks(open_url=self._open_url, open_folder=self._open_folder,
                               export=self.export, show_error=self.show_error,
                               quit=self.quit, changed=self.refresh,
                               import_data=self.import_data, pair_device=self.pair_device,
                               unpair=self.confirm_unpair)
        self.app_menu = AppMenu(ctl, self.hooks, parent=self)
        self.tray = QSystemTrayIcon(self.icons[TrayLook.TRACKING], self)
        self.tray.setContextMenu(self.app_menu.menu)
        self.tray.activated.connect(self._activated)
        self.click_timer = QTimer(self)
        self.click_timer.setSingleShot(True)
        self.click_timer.setInterval(QApplication.doubleClickInterval())
        self.click_timer.timeout.connect(self._menu_at_pointer)
        self.window: NoTrayWindow | None = None
        self.close_question: QMessageBox | None = None
        self.export_progress: dialogs.ExportProgress | None = None
        self.pairing: PairingDialog | None = None
        self.summon_notifier: QSocketNotifier | None = None
        self._quitting = False
        self._greeted = False  # greet() has decided, this run
        self._shown: tuple[TrayLook, str] | None = None
        self._logged: tuple[TrayLook, str] | None = None  # the tooltip changes each minute
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
        self.tray_timer.timeout.connect(self._follow_tray)

    # -- start ------------------------------------------------------------------------------
    def start(self) -> None:
        self.refresh()
        self.timer.start()
        if self.ctl.server.mode is ServerMode.UNAVAILABLE:
            self.show_error(self.ctl.server.problem)
        self.offer_import()
        self._follow_tray()
        if self.presence.face is Face.WAITING:
            logger.info("no system tray yet; waiting up to %.1f s", self.presence.wait_s)
            self.tray_timer.start()  # until decided; afterwards every tick looks

    def listen_for_summons(self, listener: SummonListener) -> None:
        """A second launch asks us to show ourselves (`aw_qt/desktop/summon.py`)."""
        listener.answer = self.summoned
        notifier = QSocketNotifier(listener.fileno(), QSocketNotifier.Type.Read, self)  # type: ignore[call-overload]
        notifier.activated.connect(lambda *_: listener.handle_pending())
        self.summon_notifier = notifier

    def summoned(self) -> str:
        if self.presence.face is Face.ICON:
            self.notify("ActivityWatch is already running",
                        "Click this icon for its menu; a double click opens the dashboard.")
            return "tray"
        self.presence.summon()
        self._follow_tray()
        self._raise_window()  # also when it was there all along, minimised or buried
        return "window"

    # -- tray or window ------------------------------------------------------------------------
    def _follow_tray(self) -> None:
        before = self.presence.face
        face = self.presence.observe(QSystemTrayIcon.isSystemTrayAvailable(), time.monotonic())
        if face is not Face.WAITING:
            self.tray_timer.stop()
        if face is Face.ICON and before is not Face.ICON:
            self.tray.show()
            logger.info("tray icon shown")
        if face is Face.WINDOW:
            self._show_window(before)
        elif self.window is not None and self.window.isVisible():
            self.window.hide()
        if face in (Face.ICON, Face.WINDOW):
            # At once, not after a delay: a welcome mapped a moment later would close a
            # menu the user has just opened. (It costs the first start ~50 ms to the icon.)
            self.greet()

    def _show_window(self, before: Face) -> None:
        if self.window is None:
            self.window = NoTrayWindow(AppMenu(self.ctl, self.hooks, parent=self),
                                       icon=self.icons[TrayLook.TRACKING],
                                       on_close=self._window_closing)
        if before is not Face.WINDOW:
            logger.warning("no system tray: showing a window instead "
                           "(tracking goes on)")
            self._raise_window()

    def _raise_window(self) -> None:
        if self.window is not None:
            self.window.refresh()
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()

    def _window_closing(self) -> None:
        """Closing the window without a tray would leave no way to reach us: ask."""
        if self.presence.face is not Face.WINDOW:
            if self.window is not None:
                self.window.hide()
            return
        if self.close_question is not None and self.close_question.isVisible():
            self.close_question.raise_()
            return

        def answered(keep: bool) -> None:
            if keep:
                logger.info("%s", BACKGROUND_TEXT)
                self.presence.dismiss()
                self._follow_tray()
            else:
                self.quit()

        self.close_question = dialogs.close_question(CLOSE_TITLE, CLOSE_QUESTION, answered)
        self.dialogs.append(self.close_question)

    def greet(self) -> None:
        """The first start's welcome, once the user can see where aw-qt lives."""
        if self.first_run is None or self._greeted:
            return
        self._greeted = True
        if not self.first_run.due():
            logger.debug("no welcome: shown before (%s)", self.first_run.marker)
            return
        self.first_run.done()
        text = welcome_text(self.ctl.data_location(), tray=self.presence.face is Face.ICON)
        logger.info("first start: %s", " ".join(text.split()))
        self.dialogs.append(dialogs.welcome(
            text, lambda: self._open_url(self.ctl.dashboard_url)))

    # -- state -----------------------------------------------------------------------------
    def tick(self) -> None:
        self.ctl.tick()
        self._follow_tray()  # a tray host can go away (and come back) at any time
        self.refresh()

    def refresh(self) -> None:
        look, status = self.ctl.look(), self.ctl.status_line()
        tooltip = self.ctl.tooltip_text(status)
        if (look, tooltip) != self._shown:  # only talk to the tray host on a change
            if (look, status) != self._logged:
                logger.info("status: %s (%s icon)", status, look.value)
                self._logged = (look, status)
            self._shown = (look, tooltip)
            self.tray.setIcon(self.icons[look])
            self.tray.setToolTip(tooltip)
        if self.app_menu.menu.isVisible():
            self.app_menu.refresh()
        if self.window is not None:
            self.window.refresh()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.DoubleClick:
            self.click_timer.stop()
            self._open_url(self.ctl.dashboard_url)
        elif reason is QSystemTrayIcon.ActivationReason.Trigger and sys.platform != "darwin":
            self.click_timer.start()  # the menu, unless this click is half a double click

    def _menu_at_pointer(self) -> None:
        if not self.app_menu.menu.isVisible():
            self.app_menu.menu.popup(QCursor.pos())

    def _restarted(self, name: str, attempt: int) -> None:
        reason = self.ctl.supervisor.status(name).exit_reason or "stopped"
        self.notify("ActivityWatch", f"Module {name} {reason} and was restarted "
                                     f"(attempt {attempt} of 3)")
        self.refresh()

    def _gave_up(self, name: str, log_tail: str) -> None:
        def restart() -> None:
            self.ctl.restart_module(name)
            self.refresh()

        status = self.ctl.supervisor.status(name)
        self.dialogs.append(dialogs.crash_dialog(name, status.exit_reason, log_tail, restart))
        self.refresh()

    def _unsupported(self, name: str, reason: str) -> None:
        """A watcher that cannot track this desktop: its reason, once (it is not restarted)."""
        self.dialogs.append(dialogs.notice(f"{name} cannot track this desktop, so it is "
                                           f"stopped.\n\n{reason}", error=False))
        self.refresh()

    # -- dialogs ---------------------------------------------------------------------------
    def notify(self, title: str, text: str) -> None:
        logger.info("%s: %s", title, " / ".join(text.splitlines()))
        if self.tray.isVisible() and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray.showMessage(title, text, self.icons[TrayLook.TRACKING], 5000)

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
        self.click_timer.stop()
        for box in self.dialogs:
            if isinstance(box, QDialog):
                box.close()
        if self.window is not None:
            # Qt 6 cancels a quit when a visible window refuses to close (seen on GNOME:
            # SIGTERM left aw-qt running while the no-tray window showed).
            self.window.hide()
        if self.pairing is not None:
            self.pairing.timer.stop()
            self.pairing.close()
        self.ctl.shutdown()
        self.tray.hide()
        self._quit_app()
