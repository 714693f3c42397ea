"""The Sync submenu and the pairing dialog on the offscreen platform, between two real
embedded servers: what is shown, what is enabled, and that the clicks really pair, sync
and unpair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from aw_qt.qt.pairing_dialog import PairingDialog
from aw_qt.qt.tray import TrayApp
from aw_qt.server import ServerHandle, ServerMode
from aw_qt.sync.control import SyncControl, format_sas
from aw_server.sync import discovery
from tests.aw_qt.conftest import Device
from tests.aw_qt.helpers import quiet_controller
from tests.aw_qt.sync.test_control import add_bucket, label, pair


@pytest.fixture
def notes() -> list[str]:
    """The balloons alpha's tray showed."""
    return []


@pytest.fixture
def tray(qtbot: QtBot, devices: tuple[Device, Device], notes: list[str]) -> Iterator[TrayApp]:
    """alpha's tray (the desktop's tray host never appears: offscreen has none)."""
    app = TrayApp(devices[0].ctl, tray_wait_s=600, quit_app=lambda: None)
    app.notify = lambda title, text: notes.append(text)  # type: ignore[method-assign]
    app.start()
    yield app
    app.quit()


def open_sync_menu(tray: TrayApp) -> QMenu:
    menu = tray.app_menu.menu.findChild(QMenu, "sync-menu")
    assert isinstance(menu, QMenu)
    tray.app_menu.refresh()
    menu.aboutToShow.emit()  # what opening the submenu does
    return menu


def mirrors(device: Device) -> list[str]:
    return [b for b in device.server.store.buckets.ids() if "-synced-from-" in b]


def test_pair_sync_and_failure_through_the_menu_and_dialogs(
        tray: TrayApp, devices: tuple[Device, Device], qtbot: QtBot, notes: list[str]) -> None:
    alpha, beta = devices
    actions = tray.app_menu.actions
    assert not alpha.ctl.sync.loaded()  # nothing paired: sync is not even loaded yet
    open_sync_menu(tray)
    assert actions["sync-pair"].isVisible() and actions["sync-pair"].isEnabled()
    assert actions["sync-now"].isVisible() and not actions["sync-now"].isEnabled()
    assert actions["sync-none"].isVisible() and not actions["sync-unavailable"].isVisible()

    shower = PairingDialog(beta.ctl.sync, changed=lambda: None)  # beta shows its code
    qtbot.addWidget(shower)
    shower.show_button.click()
    qtbot.waitUntil(lambda: "Code:" in shower.window_label.text(), timeout=20000)
    assert shower.shown_code is not None
    actions["sync-pair"].trigger()  # alpha types it
    dialog = tray.pairing
    assert isinstance(dialog, PairingDialog) and dialog.isVisible()
    dialog.address.setEditText(shower.shown_code["addresses"][0])
    dialog.code.setText(shower.shown_code["code"])
    dialog.pair_button.click()
    qtbot.waitUntil(lambda: dialog.pair_label.text().startswith("Paired with beta"),
                    timeout=20000)
    qtbot.waitUntil(lambda: shower.window_label.text().startswith("Paired with alpha"),
                    timeout=5000)
    sas = format_sas(alpha.ctl.sync.peers()[0].sas)
    assert sas in dialog.pair_label.text() and sas in shower.window_label.text()

    tray.app_menu.refresh()
    peer_line = actions[f"sync-peer:{beta.device_id}"]
    assert peer_line.text() == f"{label(beta)}: never synced"
    assert not actions["sync-none"].isVisible()
    assert actions["sync-now"].isEnabled()
    add_bucket(beta, "window_beta")
    actions["sync-now"].trigger()
    qtbot.waitUntil(lambda: bool(mirrors(alpha)), timeout=30000)
    qtbot.waitUntil(lambda: any(n.startswith("Synced with beta") for n in notes),
                    timeout=10000)
    tray.app_menu.refresh()
    assert peer_line.text() == f"{label(beta)}: last synced just now"

    beta.server.stop()
    actions["sync-now"].trigger()
    qtbot.waitUntil(lambda: any(n.startswith(f"Sync with {label(beta)} failed") for n in notes),
                    timeout=30000)
    for _ in range(3):
        tray.tick()
    assert sum(n.startswith(f"Sync with {label(beta)} failed") for n in notes) == 1
    tray.app_menu.refresh()  # an error line more: the device's submenu is rebuilt
    assert actions[f"sync-peer:{beta.device_id}"].text().startswith(f"{label(beta)}: sync failed: ")
    details = [a.text() for a in actions.values() if a.objectName().startswith("sync-detail:")]
    assert any(d.startswith("Last error: ") for d in details)


def test_unpair_from_the_menu_asks_and_can_delete_the_data(
        tray: TrayApp, devices: tuple[Device, Device], qtbot: QtBot) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    add_bucket(beta, "window_beta")
    job = alpha.ctl.sync.sync_now()
    assert job is not None and job.wait(30) and mirrors(alpha)
    open_sync_menu(tray)
    tray.app_menu.actions[f"sync-unpair:{beta.device_id}"].trigger()
    box = tray.dialogs[-1]
    assert isinstance(box, QMessageBox) and box.objectName() == "unpair"
    assert f"Unpair {label(beta)}?" in box.text()
    purge = box.checkBox()
    assert purge is not None and not purge.isChecked()
    purge.setChecked(True)
    next(b for b in box.buttons() if b.text() == "Unpair").click()
    qtbot.waitUntil(lambda: alpha.ctl.sync.peers() == [] and not mirrors(alpha), timeout=30000)
    tray.app_menu.refresh()
    assert f"sync-peer:{beta.device_id}" not in tray.app_menu.actions
    assert tray.app_menu.actions["sync-none"].isVisible()
    assert not tray.app_menu.actions["sync-now"].isEnabled()


def test_cancelled_unpair_keeps_the_pairing(tray: TrayApp, devices: tuple[Device, Device],
                                            qtbot: QtBot) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    open_sync_menu(tray)
    tray.app_menu.actions[f"sync-unpair:{beta.device_id}"].trigger()
    box = tray.dialogs[-1]
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text() != "Unpair").click()
    qtbot.wait(200)
    assert [p.state for p in alpha.ctl.sync.peers()] == ["active"]


def test_without_a_server_the_submenu_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    handle = ServerHandle(ServerMode.UNAVAILABLE, 1, problem="Port 1 is used by another program")
    app = TrayApp(quiet_controller(tmp_path, handle), tray_wait_s=600, quit_app=lambda: None)
    app.start()
    try:
        menu = open_sync_menu(app)
        visible = [a.text() for a in menu.actions() if a.isVisible() and not a.isSeparator()]
        assert visible == ["Sync is unavailable: the server is not running"]
        assert not app.app_menu.actions["sync-unavailable"].isEnabled()
        assert not app.app_menu.actions["import"].isEnabled()
    finally:
        app.quit()


def test_import_and_sync_come_right_after_export(tray: TrayApp) -> None:
    tray.app_menu.refresh()
    top = [a.text() if not a.isSeparator() else "---" for a in tray.app_menu.menu.actions()]
    assert top == ["Tracking", "---", "Open Dashboard", "Open API Browser", "---", "Modules",
                   "---", "Pause tracking", "Resume tracking", "---", "Export data…",
                   "Import from ActivityWatch…", "---", "Sync", "---", "Start at login",
                   "Open log folder", "Open config folder", "---", "Quit ActivityWatch"]


def test_devices_in_the_submenu_are_in_name_order(
        tray: TrayApp, devices: tuple[Device, Device], gamma: Device, artifacts: Path) -> None:
    alpha, beta = devices
    pair(alpha, gamma)  # paired first, listed last
    pair(alpha, beta)
    menu = open_sync_menu(tray)
    lines = [a.text() for a in menu.actions() if a.objectName().startswith("sync-peer:")]
    assert lines == [f"{label(beta)}: never synced", f"{label(gamma)}: never synced"]
    menu.grab().save(str(artifacts / "sync-submenu-offscreen.png"))


def enter_a_code_tab(sync: SyncControl, qtbot: QtBot) -> PairingDialog:
    dialog = PairingDialog(sync, changed=lambda: None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    return dialog


def test_without_zeroconf_the_pairing_dialog_asks_for_the_address_only(
        devices: tuple[Device, Device], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
        artifacts: Path) -> None:
    monkeypatch.setattr(discovery, "zeroconf", None)  # an install without the package
    dialog = enter_a_code_tab(devices[0].ctl.sync, qtbot)
    assert not dialog.search_button.isVisible() and dialog.search_job is None
    assert not dialog.search_label.isVisible()
    line = dialog.address.lineEdit()
    assert line is not None and line.placeholderText().startswith("the address it shows")
    dialog.grab().save(str(artifacts / "pairing-without-zeroconf.png"))


def test_a_two_line_search_error_is_shown_whole(
        devices: tuple[Device, Device], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
        artifacts: Path) -> None:
    dialog = enter_a_code_tab(devices[0].ctl.sync, qtbot)  # searches at once
    qtbot.waitUntil(lambda: dialog.search_job is None, timeout=20000)
    monkeypatch.setattr(discovery, "zeroconf", None)  # the package went away meanwhile
    dialog.search_button.click()
    label = dialog.search_label
    qtbot.waitUntil(lambda: "zeroconf" in label.text(), timeout=20000)
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert label.heightForWidth(label.width()) > 1.5 * label.fontMetrics().height()  # 2 lines
    dialog.grab().save(str(artifacts / "pairing-search-error.png"))
