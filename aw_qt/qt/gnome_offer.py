"""The tray's offer to install our GNOME Shell extension (`aw_qt/desktop/gnome_extension.py`).

Chained onto the Supervisor's `on_unsupported`: when the window watcher stops on a
GNOME Wayland session because the extension is missing, the user gets a question
with an Install button instead of the plain notice; anything else still gets the
notice. Installing runs on a worker thread (it waits up to a few seconds for the shell
to start the extension) and the answer comes back as a notice; when the extension
runs at once the window watcher is started again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QMessageBox

from aw_qt.controller import Controller
from aw_qt.qt import dialogs

if TYPE_CHECKING:
    from aw_qt.desktop.gnome_extension import InstallResult

logger = logging.getLogger(__name__)

INSTALL = "Install"
NOT_NOW = "Not now"
RESULT_POLL_MS = 100


def _gnome() -> ModuleType:
    """The extension's installer and texts, loaded when a watcher first reports it
    missing: with D-Bus and the GNOME backend they are ~0.3 MB a tray on any other
    desktop would keep for nothing."""
    from aw_qt.desktop import gnome_extension

    return gnome_extension


def offer_box(text: str, on_install: Callable[[], None]) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Question, _gnome().OFFER_TITLE, text)
    box.setObjectName("gnome-extension-offer")
    install = box.addButton(INSTALL, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(NOT_NOW, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(install)
    box.buttonClicked.connect(lambda button: on_install() if button is install else None)
    box.show()
    return box


class OfferHost(Protocol):
    """What the offer needs of the tray: its controller, a place to keep dialogs alive
    and a refresh of the menu. A Protocol, so the offer does not import the tray that
    owns it."""

    ctl: Controller
    dialogs: list[QObject]

    def refresh(self) -> None: ...


class GnomeExtensionOffer:
    """Owns the offer's dialogs and the install in flight; `install` is injectable."""

    def __init__(self, tray: OfferHost,
                 install: Callable[[], InstallResult] | None = None) -> None:
        self.tray = tray
        self.install = install or (lambda: _gnome().install_and_enable())
        self.result: InstallResult | None = None
        self._worker: threading.Thread | None = None
        self._timer = QTimer()  # kept by this object, on the GUI thread that builds it
        self._timer.setInterval(RESULT_POLL_MS)
        self._timer.timeout.connect(self._check_done)
        supervisor = tray.ctl.supervisor
        self._fallback = supervisor.on_unsupported
        supervisor.on_unsupported = self.on_unsupported

    def on_unsupported(self, name: str, reason: str) -> None:
        status = _gnome().offer_wanted(name)
        if status is None:
            self._fallback(name, reason)
            return
        logger.info("%s needs our GNOME Shell extension: offering to install it", name)
        self.tray.dialogs.append(offer_box(_gnome().offer_text(status), self.start_install))
        self.tray.refresh()

    def start_install(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        self.result = None
        self._worker = threading.Thread(target=self._run, name="gnome-extension-install",
                                        daemon=True)
        self._worker.start()
        self._timer.start()

    def _run(self) -> None:
        try:
            self.result = self.install()
        except Exception as exc:  # report any failure to the user rather than lose it
            logger.exception("installing the GNOME Shell extension failed")
            self.result = _gnome().InstallResult(False,
                                                 f"Installing the extension failed: {exc}")

    def _check_done(self) -> None:
        if self._worker is None or self._worker.is_alive():
            return
        self._timer.stop()
        result = self.result
        assert result is not None
        logger.info("GNOME Shell extension install: %s", result.message)
        self.tray.dialogs.append(dialogs.notice(result.message, title=_gnome().RESULT_TITLE,
                                                error=not result.ok))
        if result.ok and not result.relogin:
            self.tray.ctl.restart_module(_gnome().WINDOW_WATCHER)
        self.tray.refresh()
