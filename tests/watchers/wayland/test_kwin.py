"""KDE Plasma's KWin 5.27, headless: the real watchers (as the desktop user) against a
real server.

Windows: two Qt windows and weston-terminal (native Wayland) and an xterm through
KWin's Xwayland, focused by a test-side KWin script. What the server recorded must
match the script: one event per segment with the right app and title, each within
±1 % of the time KWin held it active (the bar of bench/watcher_accuracy.py), and no
"unknown" slivers. KWin 6 cannot run here (Debian 12 ships 5.27); its differences are
confined to the script's two branches and the script object path.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.watchers.scenario import (
    Played,
    Step,
    away_and_back,
    check_away_and_back,
    play,
    timestamp,
)
from tests.watchers.servers import ServerProcess
from tests.watchers.wayland.harness import DesktopWatcher, UserSession, poll
from tests.watchers.wayland.kwin import KWinSession
from watchers.process import EXIT_UNSUPPORTED

WINDOW_BUCKET = f"aw-watcher-window_{socket.gethostname()}"
AFK_BUCKET = f"aw-watcher-afk_{socket.gethostname()}"
POLL = 1.0
SCRIPT = "aw-watcher-window"
WESTON_TERMINAL = "org.freedesktop.weston.wayland-terminal"
# key -> (kind, app as recorded, title); KWin lower-cases an X11 window's class.
WINDOWS = {
    "start": ("qt", "org.example.Start", "start sentinel"),
    "editor": ("qt", "org.example.Editor", "report.txt — editor ✓ 日本"),
    "terminal": ("weston-terminal", WESTON_TERMINAL, "Wayland Terminal"),
    "xterm": ("xterm", "xchat", "chat: Ålice ✓ 日本 (X11)"),
    "end": ("qt", "org.example.End", "end sentinel"),
}
APP = {key: app for key, (_kind, app, _title) in WINDOWS.items()}
TITLE = {key: title for key, (_kind, _app, title) in WINDOWS.items()}


@pytest.fixture(scope="module")
def kde(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KWinSession]:
    user = UserSession(tmp_path_factory.mktemp("kwin"))
    kwin = KWinSession(user)
    try:
        kwin.start()
        for key, (kind, _app, title) in WINDOWS.items():
            if kind == "qt":
                kwin.open_qt_window(title, APP[key])
            elif kind == "xterm":
                kwin.open_xterm(title, "XChat")
            else:
                assert kwin.open_weston_terminal() == title
        yield kwin
    finally:
        kwin.stop()
        user.stop()


def window_watcher(kwin: KWinSession, server: ServerProcess, log: Path,
                   *extra: str) -> DesktopWatcher:
    """A window watcher with its own log (`log`) and ActivityWatch folders."""
    args = ["--testing", "--port", str(server.port), "--poll-time", str(POLL), *extra]
    return DesktopWatcher(kwin.session, "window", args, kwin.env(), log).start()


def events_until(server: ServerProcess, bucket: str, title: str) -> list[dict[str, Any]]:
    def arrived() -> list[dict[str, Any]]:
        events = server.events(bucket)
        return events if any(e["data"].get("title") == title for e in events) else []

    return list(poll(arrived, f"{title!r} on the server", timeout=60))


def test_window_list_shows_xwayland_like_native(kde: KWinSession) -> None:
    """What the script will read: app ids of native windows, the X class of xterm."""
    listed = {w["caption"]: w["resourceClass"] for w in kde.driver.windows()}
    assert listed == {TITLE[key]: APP[key] for key in WINDOWS}


def test_focus_switches_recorded_per_segment_within_one_percent(
        kde: KWinSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    kde.activate(TITLE["start"])
    watcher = window_watcher(kde, preferred_server, tmp_path / "window.log")
    assert watcher.saw("window source kwin-script")
    windows = {key: TITLE[key] for key in WINDOWS}
    plan = [("editor", 3.0), ("xterm", 3.0), ("terminal", 3.0), ("editor", 3.0),
            ("xterm", 3.0)]
    played = play(kde, windows, [Step(k, s) for k, s in plan] + [Step("end", 1.5)])
    assert watcher.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    assert all(e["data"]["app"] != "unknown" for e in events), events
    recorded = [e for e in events if e["data"]["title"] not in (TITLE["start"], TITLE["end"])]
    expected: list[Played] = played[:-1]
    assert [(e["data"]["app"], e["data"]["title"]) for e in recorded] == \
        [(APP[p.window], TITLE[p.window]) for p in expected]
    for event, segment in zip(recorded, expected, strict=True):
        error = abs(float(event["duration"]) - segment.seconds) / segment.seconds
        assert error <= 0.01, (event, segment)
        assert abs(timestamp(event) - segment.start) <= 0.03, (event, segment)


def test_title_changes_of_the_focused_window_only_and_as_the_app_set_them(
        kde: KWinSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    """A retitle of the focused window starts a new event at that moment; one of a
    window in the background records nothing. A title another window already has is
    recorded as set, without the " <2>" KWin adds to tell the two apart."""
    kde.activate(TITLE["editor"])
    watcher = window_watcher(kde, preferred_server, tmp_path / "window.log")
    time.sleep(1.5)
    kde.retitle(APP["start"], "start (background)")
    time.sleep(1.5)
    retitled_at = time.time()
    kde.retitle(APP["editor"], "notes.md — editor")
    kde.retitle(APP["start"], TITLE["start"])
    time.sleep(2.0)
    kde.retitle(APP["editor"], TITLE["start"])  # the same title as the start window
    time.sleep(1.5)
    kde.retitle(APP["editor"], TITLE["editor"])  # back, for the other tests
    time.sleep(1.0)
    kde.activate(TITLE["end"])
    time.sleep(1.5)
    assert watcher.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    assert [(e["data"]["app"], e["data"]["title"]) for e in events] == [
        (APP["editor"], TITLE["editor"]), (APP["editor"], "notes.md — editor"),
        (APP["editor"], TITLE["start"]), (APP["editor"], TITLE["editor"]),
        (APP["end"], TITLE["end"])]
    assert "background" not in repr(events)
    renamed = events[1]
    assert abs(timestamp(renamed) - retitled_at) <= 0.1
    assert abs(float(renamed["duration"]) - 2.0) <= 0.1


def test_script_unloaded_on_stop_and_a_killed_watchers_script_replaced(
        kde: KWinSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    assert not kde.driver.script_loaded(SCRIPT)
    watcher = window_watcher(kde, preferred_server, tmp_path / "first.log")
    assert kde.driver.script_loaded(SCRIPT)
    assert watcher.stop() == 0  # SIGTERM
    assert watcher.saw(f"Unloaded KWin script '{SCRIPT}'")
    assert not kde.driver.script_loaded(SCRIPT)

    killed = window_watcher(kde, preferred_server, tmp_path / "killed.log")
    killed.kill9()
    assert kde.driver.script_loaded(SCRIPT)  # nobody could unload it
    kde.activate(TITLE["editor"])
    successor = window_watcher(kde, preferred_server, tmp_path / "successor.log")
    assert successor.saw("left behind by an earlier watcher")
    kde.activate(TITLE["terminal"])
    time.sleep(1.5)
    kde.activate(TITLE["end"])
    time.sleep(1.0)
    assert successor.stop() == 0
    assert not kde.driver.script_loaded(SCRIPT)
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    titles = [e["data"]["title"] for e in events]
    assert titles[-2:] == [TITLE["terminal"], TITLE["end"]]


def test_a_restarted_kwin_gets_the_script_again(preferred_server: ServerProcess,
                                               tmp_path: Path) -> None:
    """Plasma restarts a KWin that crashed within the same session; its scripts are
    gone then, so the watcher, which only talks D-Bus, loads ours into the new KWin."""
    user = UserSession(tmp_path / "restart")
    try:
        first = KWinSession(user).start()
        first.open_qt_window("before the restart", "org.example.Before")
        watcher = window_watcher(first, preferred_server, tmp_path / "window.log")
        first.stop()
        second = KWinSession(user).start()
        second.open_qt_window("after the restart", "org.example.After")
        poll(lambda: watcher.saw("KWin restarted; loading the window script again"),
             "the watcher to see KWin come back")
        second.activate("after the restart")
        # A restarted KWin takes its bus name before it offers /Scripting, so the first
        # try may fail and the watcher tries again at its next poll.
        poll(lambda: second.driver.script_loaded(SCRIPT), "the script in the new KWin")
        events = events_until(preferred_server, WINDOW_BUCKET, "after the restart")
        assert events[-1]["data"]["app"] == "org.example.After"
        assert watcher.stop() == 0
        assert not second.driver.script_loaded(SCRIPT)
        second.stop()
    finally:
        user.stop()


def test_a_second_watcher_exits_3_and_leaves_the_first_one_working(
        kde: KWinSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    first = window_watcher(kde, preferred_server, tmp_path / "first.log")
    second = DesktopWatcher(kde.session, "window", ["--port", str(preferred_server.port)],
                            kde.env(), tmp_path / "second.log")
    assert second.run_to_exit() == EXIT_UNSUPPORTED
    assert second.saw("another aw-watcher-window already tracks this KDE session")
    assert kde.driver.script_loaded(SCRIPT)
    kde.activate(TITLE["xterm"])
    time.sleep(1.0)
    kde.activate(TITLE["end"])
    time.sleep(1.0)
    assert first.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    assert [e["data"]["title"] for e in events][-2:] == [TITLE["xterm"], TITLE["end"]]


def test_afk_after_the_timeout_and_back_with_fake_input_within_one_poll(
        kde: KWinSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    """No input for longer than the timeout → afk from the last input; pointer motion
    through KWin's fake-input protocol → not-afk within one poll."""
    timeout, poll_s = 3.0, 0.5
    kde.driver.input()
    watcher = DesktopWatcher(kde.session, "afk", [
        "--testing", "--port", str(preferred_server.port), "--timeout", str(timeout),
        "--poll-time", str(poll_s)], kde.env(), tmp_path / "afk.log").start()
    assert watcher.saw("idle source ext-idle-notify-v1")
    last_input, back = away_and_back(kde.driver.input, watcher.saw, away_s=1.0)
    noticed = time.time()
    for _ in range(3):
        kde.driver.input()
        time.sleep(0.4)
    assert watcher.stop() == 0
    assert noticed - back <= poll_s + 0.2  # one poll, plus the log line's way to us
    poll(lambda: [e for e in preferred_server.events(AFK_BUCKET) if timestamp(e) > back - 0.1],
         "the return on the server")
    check_away_and_back(preferred_server.events(AFK_BUCKET), last_input, back,
                        tolerance=poll_s, timeout=timeout)


def test_kde_backend_without_kwin_exits_3_naming_it(tmp_path: Path) -> None:
    user = UserSession(tmp_path / "no-kwin")
    try:
        user.start_session_bus()
        env = user.env(XDG_SESSION_TYPE="wayland", XDG_CURRENT_DESKTOP="KDE")
        watcher = DesktopWatcher(user, "window", ["--backend", "kde", "--port", "9"], env,
                                 tmp_path / "window.log")
        assert watcher.run_to_exit() == EXIT_UNSUPPORTED
        assert watcher.saw("KWin is not running in this session (nothing owns org.kde.KWin")
    finally:
        user.stop()


def _screensaver_probe(user: UserSession, env: dict[str, str]) -> str:
    """Open the ScreenSaver idle backend as the desktop user; its reading or refusal."""
    code = ("from watchers.afk.backends import BackendUnavailableError\n"
            "from watchers.afk.backends.screensaver import ScreenSaverIdleBackend\n"
            "try:\n    b = ScreenSaverIdleBackend()\n"
            "except BackendUnavailableError as e:\n    print('refused:', e)\n"
            "else:\n    print('idle:', b.seconds_since_input())\n")
    argv, full_env = user.python(env)
    done = user.run([*argv, "-c", code], env=full_env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_screensaver_idle_is_refused_by_plasma_wayland_with_its_reason(
        tmp_path: Path) -> None:
    """On Plasma Wayland the ScreenSaver service lives in KWin's screen locker, which
    refuses GetSessionIdleTime; without the locker nothing owns the name. Either way the
    backend steps aside with the reason, and the AFK watcher uses KWin's idle protocol."""
    user = UserSession(tmp_path / "locker")
    kwin = KWinSession(user, lockscreen=True)
    try:
        kwin.start()
        assert kwin.bus_names_include("org.freedesktop.ScreenSaver")
        refusal = _screensaver_probe(user, kwin.env())
        assert refusal.startswith("refused: org.freedesktop.ScreenSaver refuses "
                                  "GetSessionIdleTime: org.freedesktop.DBus.Error."
                                  "NotSupported"), refusal
    finally:
        kwin.stop()
        user.stop()
    user = UserSession(tmp_path / "no-locker")
    try:
        user.start_session_bus()
        assert _screensaver_probe(user, user.env()).startswith(
            "refused: nothing on the session bus answers org.freedesktop.ScreenSaver")
    finally:
        user.stop()


def test_screensaver_idle_follows_input_on_plasma_x11(tmp_path: Path) -> None:
    """The implementation that does answer, KDE's screen locker in ksmserver on X11:
    milliseconds since input, reset by XTest input."""
    missing = [tool for tool in ("Xvfb", "xdotool", "ksmserver") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing: {', '.join(missing)} (scripts/test installs them: apt-get "
                    f"install xvfb xdotool plasma-workspace)")
    user = UserSession(tmp_path / "plasma-x11")
    try:
        user.start_session_bus()
        read_fd, write_fd = os.pipe()
        user.spawn(["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp"], "xvfb.log",
                   pass_fds=(write_fd,))
        os.close(write_fd)
        display = ":" + os.read(read_fd, 16).decode().strip()
        env = user.env(DISPLAY=display, XDG_CURRENT_DESKTOP="KDE", TMPDIR=str(user.runtime_dir))
        user.spawn(["ksmserver"], "ksmserver.log", env=env)
        poll(lambda: "org.freedesktop.ScreenSaver" in user.run(
            ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
             "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.ListNames"],
            env=env).stdout, "ksmserver's screen locker on the bus")
        time.sleep(1.5)
        before = float(_screensaver_probe(user, env).removeprefix("idle: "))
        assert before >= 1.0
        user.run(["xdotool", "mousemove", "5", "5"], env=env)
        after = float(_screensaver_probe(user, env).removeprefix("idle: "))
        assert after < min(before, 1.0)
    finally:
        user.stop()
