"""The tray's GNOME extension offer on the offscreen platform, over a real Controller.

Whether the offer is wanted is asked of the real session (here: a GNOME/Wayland
environment with no bus, so nothing is installed); the installer itself needs a GNOME
Shell and runs for real in tests/watchers/wayland/test_gnome_tray.py, so here it is
replaced by a recorder to check what the dialog does with each outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from aw_qt.controller import Controller, Folders
from aw_qt.desktop.autostart import XdgAutostart
from aw_qt.desktop.gnome_extension import (
    OFFER_TEXT,
    OFFER_TITLE,
    RELOGIN_TEXT,
    RESULT_TITLE,
    ExtensionStatus,
    InstallResult,
    offer_text,
    offer_wanted,
)
from aw_qt.modules.supervisor import ModuleState, Supervisor
from aw_qt.pause import PauseStore
from aw_qt.qt.gnome_offer import INSTALL, NOT_NOW, GnomeExtensionOffer
from aw_qt.qt.tray import TrayApp
from aw_qt.server import start_server
from tests.aw_qt.helpers import FakeClock, make_spec

WINDOW = "aw-watcher-window"


@pytest.fixture
def gnome_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GNOME Wayland session whose bus is gone: the extension counts as missing."""
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "ubuntu:GNOME")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def tray(qtbot: QtBot, tmp_path: Path) -> Iterator[TrayApp]:
    spec = make_spec(tmp_path, "well", WINDOW)
    clock = FakeClock()
    supervisor = Supervisor({WINDOW: spec}, log_dir=tmp_path / "logs",
                            pause_store=PauseStore(tmp_path / "pause.json"), clock=clock,
                            stop_timeout=5.0)
    ctl = Controller(supervisor, start_server(testing=True, port=0),
                     XdgAutostart(tmp_path / "xdg", [], ["aw-qt"]),
                     Folders(tmp_path / "log", tmp_path / "config"), testing=True, clock=clock)
    app = TrayApp(ctl, tray_wait_s=0.2, open_url=lambda _u: None,
                  open_folder=lambda _p: None, quit_app=lambda: None)
    yield app
    app.quit()


def boxes(tray: TrayApp, title: str) -> list[QMessageBox]:
    return [d for d in tray.dialogs if isinstance(d, QMessageBox) and d.windowTitle() == title]


def click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if isinstance(b, QPushButton) and b.text() == text)
    button.click()


def test_offer_is_for_the_window_watcher_on_gnome_wayland_only(
        gnome_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status = offer_wanted(WINDOW)
    assert status is not None and not status.installed and status.shell_version is None
    assert offer_wanted("aw-watcher-afk") is None
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "KDE")
    assert offer_wanted(WINDOW) is None


def test_the_log_out_note_is_for_gnome_before_46() -> None:
    for version, note in (((43, 9), True), ((45, 2), True), (None, True), ((46, 0), False)):
        text = offer_text(ExtensionStatus(version, False, False, False))
        assert text.startswith(OFFER_TEXT) and (RELOGIN_TEXT in text) is note


def test_install_runs_off_the_event_loop_then_says_log_out(
        gnome_env: Path, tray: TrayApp, qtbot: QtBot) -> None:
    calls: list[str] = []

    def install() -> InstallResult:
        calls.append("install")
        return InstallResult(True, "installed; log out", relogin=True)

    offer = GnomeExtensionOffer(tray, install=install)
    offer.on_unsupported(WINDOW, "the extension is not installed")
    (box,) = boxes(tray, OFFER_TITLE)
    assert box.text() == f"{OFFER_TEXT}\n\n{RELOGIN_TEXT}"
    assert box.defaultButton().text() == INSTALL
    click(box, INSTALL)
    qtbot.waitUntil(lambda: bool(boxes(tray, RESULT_TITLE)))
    assert calls == ["install"]
    assert boxes(tray, RESULT_TITLE)[0].text() == "installed; log out"
    assert tray.ctl.supervisor.status(WINDOW).state is not ModuleState.RUNNING


def test_an_extension_running_at_once_restarts_the_window_watcher(
        gnome_env: Path, tray: TrayApp, qtbot: QtBot) -> None:
    offer = GnomeExtensionOffer(tray, install=lambda: InstallResult(True, "running now"))
    offer.on_unsupported(WINDOW, "the extension is not installed")
    click(boxes(tray, OFFER_TITLE)[0], INSTALL)
    qtbot.waitUntil(lambda: tray.ctl.supervisor.status(WINDOW).state is ModuleState.RUNNING)


def test_not_now_installs_nothing_and_a_failure_is_shown_as_an_error(
        gnome_env: Path, tray: TrayApp, qtbot: QtBot) -> None:
    def broken() -> InstallResult:
        raise OSError("disk full")

    offer = GnomeExtensionOffer(tray, install=broken)
    offer.on_unsupported(WINDOW, "the extension is not installed")
    click(boxes(tray, OFFER_TITLE)[0], NOT_NOW)
    assert offer.result is None and boxes(tray, RESULT_TITLE) == []
    offer.on_unsupported(WINDOW, "the extension is not installed")
    click(boxes(tray, OFFER_TITLE)[-1], INSTALL)
    qtbot.waitUntil(lambda: bool(boxes(tray, RESULT_TITLE)))
    result = boxes(tray, RESULT_TITLE)[0]
    assert "disk full" in result.text() and result.icon() is QMessageBox.Icon.Critical


def test_other_reasons_still_get_the_plain_notice(gnome_env: Path, tray: TrayApp) -> None:
    offer = GnomeExtensionOffer(tray, install=lambda: InstallResult(True, "never"))
    offer.on_unsupported("aw-watcher-afk", "no idle source")
    assert boxes(tray, OFFER_TITLE) == []
    assert any("no idle source" in d.text() for d in tray.dialogs if isinstance(d, QMessageBox))
