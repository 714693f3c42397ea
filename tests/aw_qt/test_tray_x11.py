"""What a user meets in the tray, each through the real aw-qt under Xvfb + openbox (with
a trayer tray, or without one), driven with xdotool and wmctrl:

- no tray: the window comes at once, closing it asks, a second launch brings it back;
- the tray host going away mid-session brings the window, its return the icon;
- a single left click opens the menu, a double click the dashboard;
- a module killed by a signal: the icon, the status line and the crash dialog say so;
- "Sync now" with one device down: one notification, the failure first.

Screenshots go to each test's `artifacts/` folder (the path is printed).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from aw_qt.desktop.presence import CLOSE_TITLE
from aw_qt.first_run import WELCOME_TITLE
from tests.aw_qt.helpers import embedded_server
from tests.aw_qt.running import (
    Running,
    loopback_port,
    path_first,
    stub_opener,
    user_environment,
    watched,
)
from tests.aw_qt.test_e2e_x11 import Driver
from tests.aw_qt.xsession import Geometry, XSession, missing_tools

pytestmark = [
    pytest.mark.x11,
    pytest.mark.skipif(sys.platform != "linux" or bool(missing_tools()),
                       reason=f"needs Linux and {', '.join(missing_tools())}"),
]
WINDOW = "ActivityWatch"
TRAY_AREA = Geometry(1080, 0, 200, 32)
SEGV_WATCHER = """#!{python}
import os, signal
for n in range(80):
    print(f"run output line {{n}}", flush=True)
print("newest line before the crash", flush=True)
os.kill(os.getpid(), signal.SIGSEGV)
"""


def start_awqt(x: XSession, tmp_path: Path, *args: str,
               env: dict[str, str] | None = None) -> Running:
    env = env or user_environment(x.env, tmp_path / "home")
    port = loopback_port()
    return Running([sys.executable, "-m", "aw_qt", "--testing", "--port", str(port), *args],
                   env, tmp_path / "aw-qt.log", port)


def stop_cleanly(run: Running) -> None:
    run.signal_awqt()
    assert run.ends_cleanly()


def test_without_a_tray_the_window_comes_at_once_and_a_second_launch_brings_it_back(
        trayless_session: XSession, tmp_path: Path, artifacts: Path) -> None:
    x = trayless_session
    run = start_awqt(x, tmp_path)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        window = x.wait(lambda: x.window_named(WINDOW), "the no-tray window")
        print(f"start to window: {time.monotonic() - run.started:.2f} s")
        x.dismiss(WELCOME_TITLE)
        x.screenshot(artifacts / "no-tray-window.png", window)

        # Closing it asks; "Keep tracking in the background" (the default) hides it.
        x.close_window(WINDOW)
        question = x.wait(lambda: x.window_named(CLOSE_TITLE), "the close question")
        x.screenshot(artifacts / "no-tray-close-question.png", question)
        x.xdotool("key", "Return")
        x.wait(lambda: not x.window_named(WINDOW) and not x.window_named(CLOSE_TITLE),
               "the window to go to the background")
        assert run.proc.poll() is None
        assert len(run.find("aw-watcher-")) == 2  # tracking goes on

        # Starting it again brings the window back, and starts nothing more.
        second = subprocess.run(run.argv, env=run.env, capture_output=True, text=True,
                                timeout=60, check=False)
        assert second.returncode == 1
        assert "already running" in second.stderr and "showed its window" in second.stderr
        window = x.wait(lambda: x.window_named(WINDOW), "the window to come back")
        x.screenshot(artifacts / "no-tray-window-again.png", window)
        assert len(run.find("aw-watcher-")) == 2

        # This time: Quit.
        x.close_window(WINDOW)
        x.wait(lambda: x.window_named(CLOSE_TITLE), "the close question")
        x.xdotool("key", "Tab", "Return")
        assert run.ends_cleanly()


def test_the_window_comes_when_the_tray_host_goes_and_leaves_when_it_returns(
        desktop_session: XSession, tmp_path: Path, artifacts: Path) -> None:
    x = desktop_session
    run = start_awqt(x, tmp_path)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        x.painted_icon()
        x.dismiss(WELCOME_TITLE)
        assert not x.window_named(WINDOW)
        x.stop_tray()  # the panel crashes
        gone = time.monotonic()
        window = x.wait(lambda: x.window_named(WINDOW), "the no-tray window")
        print(f"tray gone to window: {time.monotonic() - gone:.2f} s")
        x.screenshot(artifacts / "tray-gone-window.png")
        x.start_tray()  # ... and comes back
        x.painted_icon()
        x.wait(lambda: not x.window_named(WINDOW), "the window to go")
        x.screenshot(artifacts / "tray-back.png", TRAY_AREA)
        assert window.width > 64
        stop_cleanly(run)


def test_left_click_opens_the_menu_and_double_click_the_dashboard(
        desktop_session: XSession, tmp_path: Path, artifacts: Path) -> None:
    x = desktop_session
    opened = stub_opener(tmp_path / "stub")
    env = user_environment(x.env, tmp_path / "home")
    env = path_first(env, tmp_path / "stub")
    run = start_awqt(x, tmp_path, env=env)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        icon = x.painted_icon()
        x.dismiss(WELCOME_TITLE)
        x.xdotool("mousemove", *map(str, icon.center), "click", "1")
        menu = x.wait(x.popup_menus, "the menu after a left click")[0]
        x.screenshot(artifacts / "left-click-menu.png",
                     Geometry(menu.x, 0, 1280 - menu.x, menu.y + menu.height + 4))
        x.xdotool("key", "Escape")
        x.wait(lambda: not x.popup_menus(), "the menu to close")
        assert not opened.exists()

        x.xdotool("mousemove", *map(str, icon.center), "click", "--repeat", "2",
                  "--delay", "80", "1")
        x.wait(lambda: opened.exists() and opened.read_text().strip(), "the dashboard")
        assert opened.read_text().splitlines() == [f"{run.url}/"]
        stop_cleanly(run)


def red_pixels(x: XSession, icon: Geometry) -> int:
    """Pixels of the failure badge's red in the icon."""
    return sum(1 for r, g, b in x.pixels(icon) if r > 170 and g < 90 and b < 90)


def test_a_module_killed_by_a_signal_shows_in_the_icon_status_and_crash_dialog(
        desktop_session: XSession, tmp_path: Path, artifacts: Path) -> None:
    x = desktop_session
    bindir = tmp_path / "bin"
    bindir.mkdir()
    watcher = bindir / "aw-watcher-segv"
    watcher.write_text(SEGV_WATCHER.format(python=sys.executable))
    watcher.chmod(0o755)
    env = user_environment(x.env, tmp_path / "home")
    env = path_first(env, bindir)
    run = start_awqt(x, tmp_path, "--autostart-modules", "aw-server,aw-watcher-segv", env=env)
    title = "ActivityWatch: aw-watcher-segv stopped"
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        icon = x.painted_icon()
        before = red_pixels(x, icon)
        dialog = x.wait(lambda: x.window_named(title), "the crash dialog", timeout=60)
        x.screenshot(artifacts / "crash-dialog.png", dialog)
        assert "aw-watcher-segv was killed by signal SIGSEGV (11); restart 1 of 3" in run.log()
        x.wait(lambda: "status: aw-watcher-segv stopped working (failed icon)" in run.log(),
               "the failed status")
        x.wait(lambda: red_pixels(x, icon) > before + 20, "the icon's red badge")
        x.screenshot(artifacts / "failed-icon.png", TRAY_AREA)
        x.close_window(title)
        x.wait(lambda: not x.window_named(title), "the dialog to close")
        x.dismiss(WELCOME_TITLE)
        x.xdotool("mousemove", *map(str, icon.center), "click", "1")
        menu = x.wait(x.popup_menus, "the menu")[0]
        x.screenshot(artifacts / "failed-status-line.png",
                     Geometry(menu.x, 0, 1280 - menu.x, 90))
        x.xdotool("key", "Escape")
        stop_cleanly(run)


def test_sync_now_with_one_device_down_gives_one_notification_failure_first(
        desktop_session: XSession, tmp_path: Path, artifacts: Path) -> None:
    x = desktop_session
    env = user_environment(x.env, tmp_path / "home")
    # No sync but the one the test starts: the tray's server reads this config file.
    config = Path(env["AW_BASE_DIR"]) / "config" / "aw-server" / "aw-server.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[server-testing]\nsync_interval = 0\n", encoding="utf-8")
    run = start_awqt(x, tmp_path, "--autostart-modules", "none", env=env)
    peers = {name: embedded_server(tmp_path / name, name) for name in ("zulu", "mike")}
    driver = Driver(x)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png"),
                 cleanup=lambda: [server.stop() for server in peers.values()]):
        x.painted_icon()
        x.wait(run.info, "the server")
        for server in peers.values():
            service = server.sync
            assert service is not None
            window = service.pairing(listen=["127.0.0.1"], port=0)
            paired = requests.post(f"{run.url}/api/0/sync/pair", timeout=60, json={
                "address": window["addresses"][0], "code": window["code"],
                "listen": ["127.0.0.1"], "port": 0})
            assert paired.status_code == 200, paired.text
        peers["zulu"].stop()  # one device is down; mike sorts first, zulu fails
        x.dismiss(WELCOME_TITLE)

        driver.open_menu()  # Sync ▸ Sync now
        driver.keys(*["Down"] * 7, "Right", "Down", "Return")
        x.wait(lambda: "Sync failed with 1 of 2 devices" in run.log(), "the notification",
               timeout=60)
        notices = [line for line in run.log().splitlines()
                   if "aw_qt.qt.tray: Sync" in line or "aw_qt.qt.tray: Synced" in line]
        assert len(notices) == 1, notices
        # Devices are named by their label: hostname and short device id.
        assert notices[0].index("Sync with zulu (") < notices[0].index("Synced with mike (")
        x.screenshot(artifacts / "sync-notification.png")

        driver.open_menu()  # the Sync submenu: devices in name order
        driver.keys(*["Down"] * 7, "Right")
        x.wait(lambda: len(driver.menus()) >= 2, "the sync submenu")
        left = min(m.x for m in driver.menus())
        x.screenshot(artifacts / "sync-submenu.png", Geometry(left, 0, 1280 - left, 400))
        driver.keys("Escape", "Escape")
        stop_cleanly(run)


def test_the_welcome_comes_on_the_first_start_only(
        desktop_session: XSession, tmp_path: Path, artifacts: Path) -> None:
    x = desktop_session
    env = user_environment(x.env, tmp_path / "home")
    with watched(start_awqt(x, tmp_path, env=env)) as first:
        welcome = x.wait(lambda: x.window_named(WELCOME_TITLE), "the welcome")
        x.screenshot(artifacts / "welcome.png", welcome)
        stop_cleanly(first)
    again = [*first.argv, "--verbose"]  # to see the decision made
    with watched(Running(again, env, tmp_path / "second.log", first.port)) as second:
        x.wait(lambda: "no welcome: shown before" in second.log(), "the decision")
        assert "first start:" not in second.log()
        assert not x.window_named(WELCOME_TITLE)
        x.painted_icon()
        stop_cleanly(second)
