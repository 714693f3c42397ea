"""aw-qt itself on headless sway, as the desktop user: the tray and both watchers.

Qt's tray icon on Wayland is a StatusNotifierItem on the session bus. swaybar (sway's
`bar` with `tray_output`) is such a tray: it owns the StatusNotifierWatcher name, and
aw-qt's icon must register there. Without a bar nothing hosts icons, and aw-qt must
show its no-tray window, which sway then manages like any window. Either way the
watchers aw-qt starts must record into its embedded server.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.watchers.servers import free_port
from tests.watchers.wayland.harness import UserSession, poll, spawn_aw_qt
from tests.watchers.wayland.sway import SwaySession

SWAYBAR_TRAY = "bar {\n  tray_output *\n}\n"
NO_TRAY_TITLE = "ActivityWatch"  # aw_qt/qt/no_tray_window.py's NoTrayWindow
HOST = socket.gethostname()


@pytest.fixture(params=["swaybar", "no-bar"])
def sway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SwaySession]:
    user = UserSession(tmp_path / "sway")
    try:
        user.start_session_bus()
        extra = SWAYBAR_TRAY if request.param == "swaybar" else ""
        yield SwaySession(user, extra_config=extra).start()
    finally:
        user.stop()


def start_aw_qt(sway: SwaySession, port: int) -> subprocess.Popen[bytes]:
    return spawn_aw_qt(sway.user, sway, port)


def registered_items(sway: SwaySession) -> str:
    """The StatusNotifierWatcher's list of items, as gdbus prints it ("" without one)."""
    result = sway.user.run(["gdbus", "call", "--session", "--dest",
                            "org.kde.StatusNotifierWatcher", "--object-path",
                            "/StatusNotifierWatcher", "--method",
                            "org.freedesktop.DBus.Properties.Get",
                            "org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems"],
                           env=sway.env())
    return result.stdout if result.returncode == 0 else ""


def events(port: int, bucket: str) -> list[dict[str, object]]:
    response = requests.get(f"http://127.0.0.1:{port}/api/0/buckets/{bucket}/events",
                            timeout=5)
    return list(response.json()) if response.ok else []


def test_aw_qt_tray_or_window_and_its_watchers_on_sway(sway: SwaySession) -> None:
    swaybar = "bar" in sway.extra_config
    work = sway.open_foot("org.example.Work", "work in progress")
    port = free_port()
    aw_qt = start_aw_qt(sway, port)
    try:
        if swaybar:
            poll(lambda: "StatusNotifierItem" in registered_items(sway),
                 "aw-qt's icon registered with swaybar's StatusNotifierWatcher", timeout=60)
        else:
            assert registered_items(sway) == ""
            poll(lambda: sway.find(NO_TRAY_TITLE), "the no-tray window", timeout=60)
        sway.activate(work)
        poll(lambda: any(e["data"] == {"app": "org.example.Work", "title": "work in progress"}
                         for e in events(port, f"aw-watcher-window_{HOST}")),
             "aw-qt's window watcher to record the focused window", timeout=60)
        poll(lambda: events(port, f"aw-watcher-afk_{HOST}"),
             "aw-qt's AFK watcher to record", timeout=60)
        if swaybar:  # the icon is in the bar, so no window of aw-qt's own
            assert sway.find(NO_TRAY_TITLE) is None
    finally:
        aw_qt.send_signal(signal.SIGTERM)
        assert aw_qt.wait(30) == 0

