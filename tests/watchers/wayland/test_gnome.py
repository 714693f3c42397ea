"""GNOME on Wayland, for real: headless gnome-shell 43, our extension, real clients
(foot and weston-terminal natively, xterm through Xwayland), the real watchers as the
desktop user, and our real server.

Focus is moved with the shell's own window activation and input is made with a
Clutter virtual pointer, both through a test-only helper extension (gnome_helper/):
Eval is locked on GNOME 43, and the product's extension has no test hooks.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.watchers.helpers import wait_until
from tests.watchers.scenario import (
    Played,
    Step,
    away_and_back,
    check_away_and_back,
    play,
    recorded_by,
    timestamp,
    totals,
)
from tests.watchers.servers import ServerProcess
from tests.watchers.wayland.gnome import GnomeShell, missing_tools
from tests.watchers.wayland.harness import DesktopWatcher, UserSession
from watchers.window.backends.gnome import EXTENSION, EXTENSION_UUID

WINDOW_BUCKET = f"aw-watcher-window_{socket.gethostname()}"
AFK_BUCKET = f"aw-watcher-afk_{socket.gethostname()}"
POLL = 1.0
# title → (app the watcher must record, how the window is opened)
WINDOWS = {
    "start sentinel": ("aw-start", "foot"),
    "notes.md — editor": ("aw-editor", "foot"),
    "chat: Alice ✓": ("aw-chat", "foot"),
    "Beta Term — ünïcode 日本": ("XBetaClass", "xterm"),
    "end sentinel": ("aw-end", "foot"),
}


def require_tools() -> None:
    missing = missing_tools()
    if missing:
        pytest.fail(f"missing for the GNOME tests: {', '.join(missing)} (scripts/test installs "
                    f"them: apt-get install gnome-shell foot weston xterm xwayland dbus-daemon)")


def open_windows(shell: GnomeShell) -> dict[str, str]:
    """The table the scenario plays: key → window title (one weston-terminal too)."""
    for title, (app, kind) in WINDOWS.items():
        if kind == "foot":
            shell.open_foot(title, app)
        else:
            shell.open_xterm(title, app)
    table = {title: title for title in WINDOWS}
    table["weston"] = shell.open_weston_terminal()
    return table


@pytest.fixture(scope="module")
def gnome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GnomeShell, dict[str, str]]]:
    """A logged-in GNOME session with our extension installed by aw-qt's installer (before
    this login) and a few real windows."""
    require_tools()
    session = UserSession(tmp_path_factory.mktemp("gnome-logs"))
    shell = GnomeShell(session)
    try:
        shell.install_helper()
        installed = shell.run_as_user("-m", "aw_qt", "--install-gnome-extension")
        assert installed.returncode == 0, installed.stdout + installed.stderr
        shell.start()
        yield shell, open_windows(shell)
    finally:
        shell.close()
        session.stop()


def user_watcher(shell: GnomeShell, kind: str, args: list[str], port: int,
                 log: Path) -> DesktopWatcher:
    return DesktopWatcher(shell.session, kind, ["--testing", "--port", str(port), *args],
                          shell.env(), log)


def app_of(table: dict[str, str], key: str) -> str:
    return WINDOWS[key][0] if key in WINDOWS else "org.freedesktop.weston.wayland-terminal"


def test_extension_reports_the_focused_window_of_every_kind(
        gnome: tuple[GnomeShell, dict[str, str]]) -> None:
    shell, table = gnome
    assert shell.driver is not None
    for key in ("notes.md — editor", "Beta Term — ünïcode 日本", "weston"):
        shell.activate(table[key])
        window = shell.driver.call((EXTENSION.bus_name, EXTENSION.path, EXTENSION.interface),
                                   "Get")[0]
        assert (window["wm_class"], window["title"]) == (app_of(table, key), table[key])
        assert window["client"] == ("x11" if key.startswith("Beta") else "wayland")
    # Xwayland windows get the shell's application match too (xterm's .desktop file).
    shell.activate(table["Beta Term — ünïcode 日本"])
    window = shell.driver.call((EXTENSION.bus_name, EXTENSION.path, EXTENSION.interface),
                               "Get")[0]
    assert window["app_id"] == "debian-xterm"


def test_window_watcher_records_each_scripted_segment_within_one_percent(
        gnome: tuple[GnomeShell, dict[str, str]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    shell, table = gnome
    server = preferred_server
    shell.activate(table["start sentinel"])
    watcher = user_watcher(shell, "window", ["--poll-time", str(POLL)], server.port,
                           tmp_path / "window.log").start()
    assert watcher.saw("backend gnome-shell-extension"), watcher.output()
    keys = ["notes.md — editor", "Beta Term — ünïcode 日本", "weston", "chat: Alice ✓",
            "notes.md — editor", "Beta Term — ünïcode 日本"]
    played = play(shell, table, [Step(k, 6.0) for k in keys] + [Step("end sentinel", 1.5)])
    assert watcher.stop() == 0, watcher.output()
    events = wait_until(lambda: [e for e in server.events(WINDOW_BUCKET)
                                 if e["data"]["title"] == "end sentinel"] and
                        server.events(WINDOW_BUCKET), "the end sentinel on the server", 60)
    check_segments(events, played[:-1], table)


def check_segments(events: list[dict[str, Any]], played: list[Played],
                   table: dict[str, str]) -> None:
    """One event per played segment, in order, with its app and title, ±1 % long."""
    skip = {"start sentinel", "end sentinel"}
    recorded = [e for e in events if e["data"]["title"] not in skip]
    assert [(e["data"]["app"], e["data"]["title"]) for e in recorded] == \
        [(app_of(table, p.window), table[p.window]) for p in played], recorded
    for event, segment in zip(recorded, played, strict=True):
        error = float(event["duration"]) - segment.seconds
        assert abs(error) <= 0.01 * segment.seconds, (event, segment, error)
    script = totals((app_of(table, p.window), p.seconds) for p in played)
    by_app = recorded_by(recorded, "app")
    for app, seconds in script.items():
        assert abs(by_app[app] - seconds) <= 0.01 * seconds, (app, by_app, script)


def test_a_title_change_of_the_focused_window_is_recorded_when_it_happens(
        gnome: tuple[GnomeShell, dict[str, str]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    """The extension signals title changes of the focused window only; each is one new
    event starting when the program changed its title."""
    shell, _table = gnome
    shell.open_foot("draft 1 — writer", "aw-writer")
    shell.open_foot("background", "aw-background")
    shell.activate("draft 1 — writer")
    watcher = user_watcher(shell, "window", ["--poll-time", str(POLL)],
                           preferred_server.port, tmp_path / "window.log").start()
    time.sleep(2.0)
    shell.retitle("background", "background changed")  # not focused: no news
    time.sleep(1.0)
    changed = time.time()
    shell.retitle("draft 1 — writer", "draft 2 — writer")
    time.sleep(2.0)
    shell.activate("end sentinel")
    time.sleep(1.5)
    assert watcher.stop() == 0, watcher.output()
    events = wait_until(lambda: [e for e in preferred_server.events(WINDOW_BUCKET)
                                 if e["data"]["title"] == "end sentinel"] and
                        preferred_server.events(WINDOW_BUCKET), "the end sentinel", 60)
    titles = [e["data"]["title"] for e in events]
    assert titles == ["draft 1 — writer", "draft 2 — writer", "end sentinel"], events
    assert {e["data"]["app"] for e in events[:2]} == {"aw-writer"}
    assert abs(timestamp(events[1]) - changed) <= 0.25  # stamped on arrival, not at a poll
    assert abs(timestamp(events[0]) + float(events[0]["duration"]) - timestamp(events[1])) <= 0.01


def test_afk_after_the_timeout_and_back_within_one_poll_of_input(
        gnome: tuple[GnomeShell, dict[str, str]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    shell, _table = gnome
    server, timeout, poll = preferred_server, 3.0, 0.5
    shell.move_pointer()
    watcher = user_watcher(shell, "afk", ["--timeout", str(timeout), "--poll-time", str(poll)],
                           server.port, tmp_path / "afk.log").start()
    assert watcher.saw("idle source mutter-idlemonitor"), watcher.output()
    last_input, back = away_and_back(shell.move_pointer, watcher.saw, away_s=1.5)
    for _ in range(3):
        shell.move_pointer()
        time.sleep(0.4)
    assert watcher.stop() == 0, watcher.output()
    events = wait_until(lambda: [e for e in server.events(AFK_BUCKET)
                                 if timestamp(e) > back - poll] and server.events(AFK_BUCKET),
                        "the return on the server")
    check_away_and_back(events, last_input, back, tolerance=poll, timeout=timeout)


def test_installed_while_logged_in_runs_after_the_next_login_and_disables_cleanly(
        tmp_path: Path, preferred_server: ServerProcess) -> None:
    """What a user of GNOME 43 goes through: install from aw-qt, log out and in, use it,
    turn it off. Turning it off must leave nothing behind on the bus."""
    require_tools()
    session = UserSession(tmp_path / "logs")
    shell = GnomeShell(session)
    try:
        shell.install_helper()
        shell.start(x11=False)
        missing = user_watcher(shell, "window", [], preferred_server.port, tmp_path / "w1.log")
        assert_exits_unsupported(missing, "not installed", "aw-qt --install-gnome-extension")

        # Turned off once before (an older install): that setting must not win.
        shell.session.run(["gsettings", "set", "org.gnome.shell", "disabled-extensions",
                           f"['{EXTENSION_UUID}']"], shell.env())
        installed = shell.run_as_user("-m", "aw_qt", "--install-gnome-extension")
        assert installed.returncode == 0, installed.stderr
        assert "log out and back in" in installed.stdout
        pending = user_watcher(shell, "window", [], preferred_server.port, tmp_path / "w2.log")
        assert_exits_unsupported(pending, "log out and back in")

        shell.restart()  # log out and in
        shell.open_foot("first", "aw-first")
        shell.open_foot("second", "aw-second")
        watcher = user_watcher(shell, "window", [], preferred_server.port,
                               tmp_path / "w3.log").start()
        off, on = check_signals_then_disable(shell, watcher)
        assert watcher.stop() == 0, watcher.output()
        assert "JS ERROR" not in shell.log_tail(200_000), shell.log_tail()
        check_nothing_recorded_while_off(preferred_server.events(WINDOW_BUCKET), off, on)
    finally:
        shell.close()
        session.stop()


def assert_exits_unsupported(watcher: DesktopWatcher, *reason: str) -> None:
    """Exit 3 with exactly one line saying why, which contains every `reason`."""
    assert watcher.run_to_exit() == 3, watcher.output()
    lines = [line for line in watcher.lines if "tracking is unavailable" in line]
    assert len(lines) == 1, watcher.output()
    for text in reason:
        assert text in lines[0], lines[0]


def check_signals_then_disable(shell: GnomeShell,
                               watcher: DesktopWatcher) -> tuple[float, float]:
    """Signals while enabled, nothing left on the bus when disabled, back when enabled.
    Returns when it was turned off and on again (wall-clock s)."""
    driver = shell.driver
    assert driver is not None
    target = (EXTENSION.bus_name, EXTENSION.path, EXTENSION.interface)
    driver.listen(interface=EXTENSION.interface, path=EXTENSION.path)
    driver.signals()
    shell.activate("first")
    shell.activate("second")
    seen: list[tuple[str, list[Any]]] = []
    wait_until(lambda: seen.extend(driver.signals()) or len(seen) >= 2, "two signals")
    assert [(member, body[0]["title"]) for member, body in seen] == \
        [("FocusChanged", "first"), ("FocusChanged", "second")], seen
    assert driver.call(target, "Get")[0]["title"] == "second"

    off = time.time()
    disabled = shell.session.run(["gnome-extensions", "disable", EXTENSION_UUID], shell.env())
    assert disabled.returncode == 0, disabled.stderr
    wait_until(lambda: watcher.saw("extension stopped"), "the watcher to notice")
    wait_until(lambda: "error" in driver.try_call(target, "Get"), "the object to go away")
    daemon = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
    assert driver.call(daemon, "NameHasOwner", "s", EXTENSION.bus_name) == [False]
    driver.signals()
    shell.activate("first")
    time.sleep(0.5)
    assert driver.signals() == []  # no handler left connected

    time.sleep(3.0)  # longer than the pulsetime (2 s), which would join the two events
    on = time.time()
    enabled = shell.session.run(["gnome-extensions", "enable", EXTENSION_UUID], shell.env())
    assert enabled.returncode == 0, enabled.stderr  # known to the shell now: live again
    wait_until(lambda: "ok" in driver.try_call(target, "Get"), "the extension to come back")
    assert driver.call(target, "Get")[0]["title"] == "first"
    wait_until(lambda: watcher.saw("extension is back"), "the watcher to notice")
    time.sleep(1.5)
    return off, on


def check_nothing_recorded_while_off(events: list[dict[str, Any]], off: float,
                                     on: float) -> None:
    """While the extension was off the watcher recorded nothing (it could not know), and
    afterwards the window focused meanwhile."""
    assert [e["data"]["title"] for e in events][-2:] == ["second", "first"], events
    before, after = events[-2:]
    assert timestamp(before) + float(before["duration"]) <= off + 0.5
    assert timestamp(after) >= on - 0.1


@pytest.mark.parametrize("kind", ["window", "afk"])
def test_forced_gnome_backend_outside_gnome_exits_3_naming_what_is_missing(
        kind: str, tmp_path: Path) -> None:
    session = UserSession(tmp_path / "logs")
    try:
        session.start_session_bus()  # a desktop bus, but no GNOME Shell on it
        watcher = DesktopWatcher(session, kind, ["--testing", "--backend", "gnome"],
                                 session.env(), tmp_path / "w.log")
        expected = ("GNOME Shell is not running" if kind == "window"
                    else "org.gnome.Mutter.IdleMonitor")
        assert_exits_unsupported(watcher, expected)
    finally:
        session.stop()
