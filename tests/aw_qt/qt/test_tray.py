"""The tray menu and dialogs on the offscreen platform, over a real Controller.

Behind the menu are a real Supervisor running tiny scripts and a real embedded server;
only the desktop (opening URLs and folders, the file dialog) is replaced by recorders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PyQt6.QtCore import QPoint
from PyQt6.QtWidgets import QMessageBox, QPlainTextEdit, QPushButton, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from aw_qt.controller import Controller, Folders, TrayLook
from aw_qt.desktop.autostart import XdgAutostart
from aw_qt.first_run import WELCOME_TITLE, FirstRun
from aw_qt.modules.supervisor import ModuleState, Supervisor
from aw_qt.pause import PauseStore
from aw_qt.qt.dialogs import CrashDialog, ExportProgress
from aw_qt.qt.icons import load_icon
from aw_qt.qt.no_tray_window import NoTrayWindow
from aw_qt.qt.tray import TrayApp
from aw_qt.server import ServerHandle, ServerMode, start_server
from tests.aw_qt.helpers import FakeClock, alive, make_spec, unsupported_watcher_spec, wait_for
from tests.aw_qt.today_data import COMBINED_LINE, record_three_devices

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"


@dataclass
class Desktop:
    urls: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    export_to: tuple[Path, str] | None = None
    quits: int = 0


def make_controller(tmp_path: Path, server: ServerHandle, kinds: dict[str, str],
                    clock: FakeClock) -> Controller:
    specs = {name: make_spec(tmp_path, kind, name) for name, kind in kinds.items()}
    supervisor = Supervisor(specs, log_dir=tmp_path / "logs",
                            pause_store=PauseStore(tmp_path / "pause.json"), clock=clock,
                            stop_timeout=5.0)
    ctl = Controller(supervisor, server, XdgAutostart(tmp_path / "xdg", [], ["aw-qt"]),
                     Folders(tmp_path / "log", tmp_path / "config"), testing=True, clock=clock)
    supervisor.start(list(kinds))
    return ctl


@pytest.fixture
def desktop() -> Desktop:
    return Desktop()


def make_tray(ctl: Controller, desktop: Desktop, tray_wait_s: float = 0.2) -> TrayApp:
    def quit_app() -> None:
        desktop.quits += 1

    return TrayApp(ctl, tray_wait_s=tray_wait_s, open_url=desktop.urls.append,
                   open_folder=desktop.folders.append,
                   ask_export_path=lambda: desktop.export_to, quit_app=quit_app)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(qtbot: QtBot, tmp_path: Path, desktop: Desktop,
        clock: FakeClock) -> Iterator[TrayApp]:
    server = start_server(testing=True, port=0)
    ctl = make_controller(tmp_path, server, {"aw-watcher-a": "well", "aw-watcher-b": "well"},
                          clock)
    tray = make_tray(ctl, desktop)
    tray.start()
    yield tray
    tray.quit()


def texts(tray: TrayApp) -> list[str]:
    tray.app_menu.refresh()
    return [a.text() for a in tray.app_menu.menu.actions() if not a.isSeparator()]


def test_menu_items_in_order_with_no_dead_entries(app: TrayApp) -> None:
    assert texts(app) == ["Tracking", "Open Dashboard", "Open API Browser", "Modules",
                          "Pause tracking", "Resume tracking", "Export data…",
                          "Import from ActivityWatch…", "Sync", "Start at login",
                          "Open log folder", "Open config folder", "Quit ActivityWatch"]
    assert not app.app_menu.actions["status"].isEnabled()
    assert not app.app_menu.actions["resume"].isEnabled()
    assert app.tray.toolTip() == "ActivityWatch (testing): Tracking"


def test_tooltip_shows_todays_active_time_across_devices(app: TrayApp, clock: FakeClock,
                                                        tmp_path: Path) -> None:
    server = app.ctl.server.server
    assert server is not None
    record_three_devices(server.store, tmp_path / "others", clock.now())
    clock.advance(60)  # the figure is refreshed once a minute
    wait_for(lambda: "\n" in app.tray.toolTip(), step=app.tick)
    assert app.tray.toolTip() == f"ActivityWatch (testing): Tracking\n{COMBINED_LINE}"


def test_dashboard_and_api_browser_open_the_server(app: TrayApp, desktop: Desktop) -> None:
    app.app_menu.actions["dashboard"].trigger()
    app.app_menu.actions["api-browser"].trigger()
    app.tray.activated.emit(QSystemTrayIcon.ActivationReason.DoubleClick)
    url = app.ctl.server.url
    assert desktop.urls == [f"{url}/", f"{url}/api/", f"{url}/"]


def test_module_items_show_state_and_toggle(app: TrayApp) -> None:
    sup = app.ctl.supervisor
    action = app.app_menu.actions["module:aw-watcher-a"]
    app.app_menu.refresh()
    assert action.isChecked() and action.text() == "aw-watcher-a (running)"
    pid = sup.status("aw-watcher-a").pid
    action.trigger()
    assert not alive(pid)
    assert sup.status("aw-watcher-a").state is ModuleState.STOPPED
    app.app_menu.refresh()
    assert not action.isChecked() and action.text() == "aw-watcher-a (stopped)"
    action.trigger()
    app.app_menu.refresh()
    assert action.isChecked() and sup.status("aw-watcher-a").state is ModuleState.RUNNING


def test_pause_and_resume_from_the_menu(app: TrayApp, clock: FakeClock) -> None:
    sup = app.ctl.supervisor
    pids = [s.pid for s in sup.statuses()]
    app.app_menu.actions["pause:MINUTES_15"].trigger()
    assert not any(alive(p) for p in pids)
    until = clock.now().replace(minute=15).strftime("%H:%M")
    assert texts(app)[0] == f"Paused until {until}"
    assert app.app_menu.actions["resume"].isEnabled()
    assert app.app_menu.actions["module:aw-watcher-b"].text() == "aw-watcher-b (paused)"
    assert app.tray.icon().cacheKey() == app.icons[TrayLook.PAUSED].cacheKey()
    app.app_menu.actions["resume"].trigger()
    assert texts(app)[0] == "Tracking"
    assert {s.state for s in sup.statuses()} == {ModuleState.RUNNING}
    assert app.tray.icon().cacheKey() == app.icons[TrayLook.TRACKING].cacheKey()
    app.app_menu.actions["pause:UNTIL_RESUMED"].trigger()
    assert texts(app)[0] == "Paused until resumed"
    app.app_menu.actions["pause:HOUR_1"].trigger()  # changing an ongoing pause
    clock.advance(3601)
    app.tick()  # the timer's job: a timed pause ends by itself
    assert texts(app)[0] == "Tracking"
    assert {s.state for s in sup.statuses()} == {ModuleState.RUNNING}


def test_export_json_with_progress(app: TrayApp, desktop: Desktop, qtbot: QtBot,
                                   tmp_path: Path) -> None:
    api = app.ctl.server.api
    assert api is not None
    api.create_bucket("b", {"type": "t", "client": "c", "hostname": "h"})
    api.create_events("b", [{"timestamp": "2026-11-01T00:00:00+00:00", "duration": 1,
                             "data": {"k": "v"}}])
    desktop.export_to = (tmp_path / "export.json", "json")
    app.app_menu.actions["export"].trigger()
    progress = app.export_progress
    assert progress is not None
    with qtbot.waitSignal(progress.finished, timeout=20000) as blocker:
        pass
    assert blocker.args == ["done"]
    document = json.loads((tmp_path / "export.json").read_text())
    assert document["buckets"]["b"]["events"][0]["data"] == {"k": "v"}


def test_progress_dialog_cancel_cancels_the_export(app: TrayApp, qtbot: QtBot,
                                                   tmp_path: Path) -> None:
    job = app.ctl.export_job(tmp_path / "big.csv", "csv")
    notes: list[str] = []
    progress = ExportProgress(job, lambda title, text: notes.append(text), notes.append)
    cancel = progress.dialog.findChild(QPushButton)
    assert cancel is not None and cancel.text() == "Cancel"
    cancel.click()  # the user presses Cancel (before the job's first chunk, here)
    with qtbot.waitSignal(progress.finished, timeout=20000) as blocker:
        progress.start()
    assert blocker.args == ["cancelled"] and job.cancelled and notes == []
    assert not (tmp_path / "big.csv").exists()


def test_icons_come_from_resources() -> None:
    assert not load_icon(False).isNull() and not load_icon(True).isNull()
    sizes = {s.width() for s in load_icon(False).availableSizes()}
    assert {16, 22, 32, 48, 64} <= sizes


def test_export_to_an_unwritable_place_says_why(app: TrayApp, desktop: Desktop,
                                                tmp_path: Path) -> None:
    desktop.export_to = (tmp_path / "missing" / "export.csv", "csv")
    app.app_menu.actions["export"].trigger()
    boxes = [d for d in app.dialogs if isinstance(d, QMessageBox)]
    assert boxes and "does not exist" in boxes[-1].text()
    assert app.export_progress is None


def test_export_cancelled_in_the_file_dialog_does_nothing(app: TrayApp) -> None:
    app.app_menu.actions["export"].trigger()  # desktop.export_to is None: cancelled
    assert app.export_progress is None and app.dialogs == []


def test_start_at_login_toggles_the_desktop_file(app: TrayApp) -> None:
    action = app.app_menu.actions["autostart"]
    app.app_menu.refresh()
    assert not action.isChecked()
    action.trigger()
    path = app.ctl.autostart.path  # type: ignore[attr-defined]
    assert path.exists()
    app.app_menu.refresh()
    assert action.isChecked()
    action.trigger()
    assert not path.exists()


def test_folders_open(app: TrayApp, desktop: Desktop, tmp_path: Path) -> None:
    app.app_menu.actions["log-folder"].trigger()
    app.app_menu.actions["config-folder"].trigger()
    assert desktop.folders == [tmp_path / "log", tmp_path / "config"]
    assert all(p.is_dir() for p in desktop.folders)


def test_quit_stops_modules_then_server(app: TrayApp, desktop: Desktop) -> None:
    pids = [s.pid for s in app.ctl.supervisor.statuses()]
    assert app.ctl.server.reachable()
    app.app_menu.actions["quit"].trigger()
    assert desktop.quits == 1
    assert not any(alive(p) for p in pids)
    assert not app.ctl.server.reachable()


def test_no_tray_shows_a_window_with_the_same_actions(app: TrayApp, qtbot: QtBot,
                                                      desktop: Desktop) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen has no tray
    qtbot.waitUntil(lambda: app.window is not None and app.window.isVisible(), timeout=5000)
    window = app.window
    assert isinstance(window, NoTrayWindow)
    assert "AppIndicator" in window.findChildren(type(window.status))[-1].text()
    assert window.status.text() == "<b>Tracking</b>"
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / "no-tray-window.png"))
    names = [a.text() for a in window.more.menu().actions() if not a.isSeparator()]  # type: ignore[union-attr]
    assert names == texts(app)
    window.dashboard.click()
    assert desktop.urls == [app.ctl.dashboard_url]


def press(box: QMessageBox | None, text: str) -> None:
    assert box is not None and box.isVisible()
    next(b for b in box.buttons() if b.text() == text).click()


def test_closing_the_no_tray_window_asks_and_a_second_launch_brings_it_back(
        app: TrayApp, qtbot: QtBot, desktop: Desktop) -> None:
    qtbot.waitUntil(lambda: app.window is not None and app.window.isVisible(), timeout=5000)
    window = app.window
    assert window is not None
    window.close()
    assert window.isVisible()  # nothing happens before the answer
    press(app.close_question, "Keep tracking in the background")
    assert not window.isVisible() and desktop.quits == 0
    app.tick()
    assert not window.isVisible()  # it stays in the background
    assert {s.state for s in app.ctl.supervisor.statuses()} == {ModuleState.RUNNING}
    assert app.summoned() == "window"  # what a second launch asks for
    assert window.isVisible()
    window.close()
    press(app.close_question, "Cancel")
    assert window.isVisible() and desktop.quits == 0
    window.close()
    press(app.close_question, "Quit ActivityWatch")
    assert desktop.quits == 1


def test_the_first_start_welcomes_once_with_the_dashboard_one_click_away(
        qtbot: QtBot, tmp_path: Path, desktop: Desktop, clock: FakeClock) -> None:
    server = start_server(testing=True, port=0)
    ctl = make_controller(tmp_path, server, {}, clock)
    marker = tmp_path / "aw-qt.welcomed"
    tray = TrayApp(ctl, tray_wait_s=0.2, open_url=desktop.urls.append,
                   quit_app=lambda: None, first_run=FirstRun(marker))
    tray.start()
    try:
        qtbot.waitUntil(lambda: any(isinstance(d, QMessageBox) for d in tray.dialogs),
                        timeout=5000)
        box = tray.dialogs[-1]
        assert isinstance(box, QMessageBox) and box.windowTitle() == WELCOME_TITLE
        assert "Menu button of the ActivityWatch window" in box.text()  # offscreen: no tray
        assert str(server.server.config.database_path()) in box.text()  # type: ignore[union-attr]
        assert marker.exists()
        press(box, "Open Dashboard")
        assert desktop.urls == [ctl.dashboard_url]
        tray.greet()
        assert sum(isinstance(d, QMessageBox) for d in tray.dialogs) == 1
    finally:
        tray.quit()


def test_unreachable_server_is_shown_and_explained(qtbot: QtBot, tmp_path: Path,
                                                   desktop: Desktop, clock: FakeClock) -> None:
    handle = ServerHandle(ServerMode.UNAVAILABLE, 1, problem="Port 1 is used by another program")
    ctl = make_controller(tmp_path, handle, {}, clock)
    tray = make_tray(ctl, desktop)
    tray.start()
    try:
        assert texts(tray)[0] == "Server unreachable"
        boxes = [d for d in tray.dialogs if isinstance(d, QMessageBox)]
        assert boxes and "used by another program" in boxes[0].text()
    finally:
        tray.quit()


def test_crashing_module_notifies_then_offers_restart(qtbot: QtBot, tmp_path: Path,
                                                      desktop: Desktop,
                                                      clock: FakeClock) -> None:
    server = start_server(testing=True, port=0)
    ctl = make_controller(tmp_path, server, {"aw-watcher-crash": "crash"}, clock)
    tray = make_tray(ctl, desktop)
    notes: list[str] = []
    tray.notify = lambda title, text: notes.append(text)  # type: ignore[method-assign]
    tray.start()
    try:
        wait_for(lambda: crash_dialogs(tray), step=tray.tick)
        assert [n.split(" (")[0] for n in notes] == [
            "Module aw-watcher-crash exited with code 1 and was restarted"] * 3
        dialog = crash_dialogs(tray)[-1]
        assert "boom: something went wrong" in dialog.output.toPlainText()
        assert "Its last run exited with code 1." in dialog.message.text()
        assert ctl.supervisor.status("aw-watcher-crash").state is ModuleState.FAILED
        dialog.restart.click()
        assert ctl.supervisor.status("aw-watcher-crash").restarts == 0
        wait_for(lambda: len(notes) == 4, step=tray.tick)  # a fresh budget
    finally:
        tray.quit()


def test_watcher_that_cannot_track_the_desktop_shows_its_reason_once(
        qtbot: QtBot, tmp_path: Path, desktop: Desktop, clock: FakeClock) -> None:
    spec, env = unsupported_watcher_spec(tmp_path)
    supervisor = Supervisor({spec.name: spec}, log_dir=tmp_path / "logs",
                            pause_store=PauseStore(tmp_path / "pause.json"), clock=clock,
                            stop_timeout=5.0, env=env)
    ctl = Controller(supervisor, start_server(testing=True, port=0),
                     XdgAutostart(tmp_path / "xdg", [], ["aw-qt"]),
                     Folders(tmp_path / "log", tmp_path / "config"), testing=True, clock=clock)
    supervisor.start([spec.name])
    tray = make_tray(ctl, desktop)
    notes: list[str] = []
    tray.notify = lambda title, text: notes.append(text)  # type: ignore[method-assign]
    tray.start()
    try:
        wait_for(lambda: tray.dialogs, step=tray.tick)
        for _ in range(5):
            tray.tick()
        boxes = [d for d in tray.dialogs if isinstance(d, QMessageBox)]
        assert len(boxes) == 1 and notes == []  # no crash notices, no restarts
        assert "cannot connect to the Wayland display" in boxes[0].text()
        assert "aw-watcher-window (not supported here)" in texts_of_modules(tray)
    finally:
        tray.quit()


def texts_of_modules(tray: TrayApp) -> list[str]:
    tray.app_menu.refresh()
    return [a.text() for a in tray.app_menu.actions.values()]


def crash_dialogs(tray: TrayApp) -> list[CrashDialog]:
    return [d for d in tray.dialogs if isinstance(d, CrashDialog)]


def last_visible_line(view: QPlainTextEdit) -> str:
    viewport = view.viewport()
    assert viewport is not None
    return view.cursorForPosition(QPoint(4, viewport.height() - 4)).block().text()


def test_crash_dialog_opens_at_the_newest_output_and_names_the_signal(
        qtbot: QtBot, tmp_path: Path, desktop: Desktop, clock: FakeClock) -> None:
    """Many crashes fill the module's log: the dialog shows where it ends, why the last
    run ended, and the tray shows the failure until the module runs again."""
    server = start_server(testing=True, port=0)
    ctl = make_controller(tmp_path, server, {"aw-watcher-segv": "segv"}, clock)
    tray = make_tray(ctl, desktop, tray_wait_s=600)
    notes: list[str] = []
    tray.notify = lambda title, text: notes.append(text)  # type: ignore[method-assign]
    tray.start()
    try:
        wait_for(lambda: crash_dialogs(tray), step=tray.tick)
        assert notes[0].startswith("Module aw-watcher-segv was killed by signal SIGSEGV (11) "
                                   "and was restarted (attempt 1 of 3)")
        dialog = crash_dialogs(tray)[-1]
        assert "Its last run was killed by signal SIGSEGV (11)." in dialog.message.text()
        bar = dialog.output.verticalScrollBar()
        assert bar is not None
        qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
        assert last_visible_line(dialog.output) == (
            "--- aw-qt: aw-watcher-segv was killed by signal SIGSEGV (11)")
        assert "newest: about to crash" in dialog.output.toPlainText().splitlines()[-2]
        ARTIFACTS.mkdir(exist_ok=True)
        dialog.grab().save(str(ARTIFACTS / "crash-dialog-offscreen.png"))
        assert ctl.status_line() == "aw-watcher-segv stopped working"
        assert texts(tray)[0] == "aw-watcher-segv stopped working"
        assert tray.tray.toolTip() == "ActivityWatch (testing): aw-watcher-segv stopped working"
        assert tray.tray.icon().cacheKey() == tray.icons[TrayLook.FAILED].cacheKey()
        assert tray.app_menu.actions["module:aw-watcher-segv"].text() == (
            "aw-watcher-segv (failed)")
        dialog.restart.click()
        assert ctl.supervisor.status("aw-watcher-segv").exit_reason == ""
        assert not dialog.isVisible()
    finally:
        tray.quit()
