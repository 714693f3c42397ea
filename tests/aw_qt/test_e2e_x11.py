"""aw-qt as a user runs it: a real tray under Xvfb, driven with xdotool.

Starts `aw-qt --testing --port P` with the real watchers, finds its icon in trayer,
pauses and resumes tracking from the menu, exports through the file dialog and
re-imports the file into a fresh server, quits from the menu, and checks that
nothing is left running. Screenshots go to `artifacts/`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.aw_qt.xsession import Geometry, XSession, missing_tools
from tests.conftest import make_server
from tests.support.servers import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WATCHERS = ("aw-watcher-afk", "aw-watcher-window")

pytestmark = [
    pytest.mark.x11,
    pytest.mark.skipif(sys.platform != "linux" or bool(missing_tools()),
                       reason=f"needs Linux and {', '.join(missing_tools())}"),
]


@pytest.fixture
def xsession(tmp_path: Path) -> Iterator[XSession]:
    session = XSession(tmp_path / "x").start()
    yield session
    session.stop()


def watcher_pids(proc: subprocess.Popen[bytes]) -> dict[str, int]:
    found = {}
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        for name in WATCHERS:
            if name in cmd and child.status() != psutil.STATUS_ZOMBIE:
                found[name] = child.pid
    return found


def events(url: str, bucket: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = requests.get(f"{url}/api/0/buckets/{bucket}/events?limit=-1",
                                             timeout=10).json()
    return [{k: v for k, v in e.items() if k != "id"} for e in got]


class Driver:
    def __init__(self, x: XSession) -> None:
        self.x = x

    def menus(self) -> list[Geometry]:
        return self.x.popup_menus()

    def open_menu(self) -> Geometry:
        icon = self.x.tray_icon()
        assert icon is not None
        self.x.xdotool("mousemove", *map(str, icon.center), "click", "3")
        menu: Geometry = self.x.wait(self.menus, "the tray menu")[0]
        self.x.xdotool("mousemove", "5", str(icon.y + 700))  # keep the pointer off the menu
        # Mapped is not yet grabbing the keyboard: give Qt a moment before typing keys.
        time.sleep(0.2)
        return menu

    def keys(self, *keys: str) -> None:
        self.x.xdotool("key", "--delay", "40", *keys)

    def wait_menus_closed(self) -> None:
        self.x.wait(lambda: not self.menus(), "the menu to close")


def test_tray_end_to_end(xsession: XSession, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(xsession.env, HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    log = (tmp_path / "aw-qt.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "aw_qt", "--testing", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    driver = Driver(xsession)
    seen: set[int] = set()
    try:
        icon = xsession.wait(xsession.tray_icon, "the tray icon")
        print(f"start to tray icon: {time.monotonic() - started:.2f} s")
        xsession.screenshot(ARTIFACTS / "tray.png", Geometry(1080, 0, 200, 32))

        print(f"{time.monotonic() - started:6.2f} s: Tracking: both")
        # Tracking: both real watchers run and send heartbeats to the embedded server.
        pids = xsession.wait(lambda: (p := watcher_pids(proc)) and len(p) == 2 and p,
                             "both watchers")
        seen.update(pids.values())
        logs = Path(os.environ["AW_BASE_DIR"]) / "log" / "aw-qt" / "modules"
        for name in WATCHERS:  # each logs this after its first poll is under way
            log_file = logs / f"{name}.log"
            xsession.wait(lambda log_file=log_file, name=name: log_file.exists() and
                          f"{name} started" in log_file.read_text(), f"{name} to start")

        print(f"{time.monotonic() - started:6.2f} s: Pause tracking")
        # Pause tracking ▸ 15 minutes (screenshot with the submenu open).
        menu = driver.open_menu()
        driver.keys("Down", "Down", "Down", "Down", "Right")
        xsession.wait(lambda: len(driver.menus()) >= 2, "the pause submenu")
        sub = min(driver.menus(), key=lambda g: g.x)
        left = min(sub.x, menu.x)
        xsession.screenshot(ARTIFACTS / "tray-menu.png",
                            Geometry(left, 0, 1280 - left, max(menu.y + menu.height,
                                                               sub.y + sub.height) + 8))
        driver.keys("Return")
        driver.wait_menus_closed()
        pause_file = Path(os.environ["AW_BASE_DIR"]) / "data" / "aw-qt" / "pause-testing.json"
        xsession.wait(lambda: pause_file.exists() and not watcher_pids(proc), "the pause")
        assert json.loads(pause_file.read_text())["until"]
        # Pausing lost nothing: what the watchers had queued reached the server.
        host = os.uname().nodename
        assert all(events(url, f"{name}_{host}") for name in WATCHERS)
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                       for p in pids.values())

        print(f"{time.monotonic() - started:6.2f} s: Modules ▸")
        # Modules ▸ shows each watcher as paused.
        menu = driver.open_menu()
        driver.keys("Down", "Down", "Down", "Right")
        xsession.wait(lambda: len(driver.menus()) >= 2, "the modules submenu")
        sub = min(driver.menus(), key=lambda g: g.x)
        left = min(sub.x, menu.x)
        xsession.screenshot(ARTIFACTS / "tray-modules-paused.png",
                            Geometry(left, 0, 1280 - left, menu.y + menu.height + 8))
        driver.keys("Escape", "Escape")
        driver.wait_menus_closed()

        print(f"{time.monotonic() - started:6.2f} s: Export data…")
        # Export data… through the real file dialog, while paused (data holds still).
        driver.open_menu()
        driver.keys("Down", "Down", "Down", "Down", "Down", "Down", "Return")
        xsession.wait(lambda: any(n == "Export data" for _, n in
                                  xsession.app_windows(embedded=False)), "the file dialog")
        target = tmp_path / "export.json"
        xsession.xdotool("key", "ctrl+a")
        xsession.xdotool("type", "--delay", "5", str(target))
        xsession.xdotool("key", "Return")
        xsession.wait(target.exists, "the export file")
        document = json.loads(target.read_text(encoding="utf-8"))
        fresh = make_server(tmp_path / "fresh")
        try:
            fresh.api.import_file(target)
            assert set(document["buckets"]) == set(
                requests.get(f"{url}/api/0/buckets/", timeout=5).json())
            for bucket in document["buckets"]:
                assert events(fresh.url, bucket) == events(url, bucket)
            assert sum(len(b["events"]) for b in document["buckets"].values()) > 0
        finally:
            fresh.stop()

        print(f"{time.monotonic() - started:6.2f} s: Resume tracking")
        # Resume tracking: the watchers come back.
        driver.open_menu()
        driver.keys("Down", "Down", "Down", "Down", "Down", "Return")
        driver.wait_menus_closed()
        again = xsession.wait(lambda: (p := watcher_pids(proc)) and len(p) == 2 and p,
                              "the watchers after resume")
        seen.update(again.values())
        assert not pause_file.exists()
        assert set(again.values()).isdisjoint(pids.values())

        print(f"{time.monotonic() - started:6.2f} s: Quit from")
        # Quit from the menu: everything stops.
        driver.open_menu()
        driver.keys("Up", "Return")
        quit_started = time.monotonic()
        assert proc.wait(60) == 0
        print(f"quit: {time.monotonic() - quit_started:.2f} s; icon was at {icon}")
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                       for p in seen)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/api/0/info", timeout=2)
    except BaseException:
        xsession.screenshot(ARTIFACTS / "e2e-failure.png")  # what the screen showed
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for pid in seen:
            if psutil.pid_exists(pid):
                psutil.Process(pid).kill()
        log.close()
        print((tmp_path / "aw-qt.log").read_text()[-3000:])
