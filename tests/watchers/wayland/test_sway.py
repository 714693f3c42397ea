"""sway, headless: the real watchers (as the desktop user) against a real server.

Windows: two foot windows (native Wayland) and an xterm through Xwayland, each with a
unique app id / X class, focused by con_id with swaymsg. What the server recorded must
match the script: one event per segment with the right app and title, per-app totals
within ±1 % (the bar of bench/watcher_accuracy.py), and no "unknown" slivers.
"""

from __future__ import annotations

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
    recorded_by,
    timestamp,
    totals,
)
from tests.watchers.servers import ServerProcess
from tests.watchers.wayland.harness import DesktopWatcher, UserSession, poll
from tests.watchers.wayland.sway import SwaySession

WINDOW_BUCKET = f"aw-watcher-window_{socket.gethostname()}"
AFK_BUCKET = f"aw-watcher-afk_{socket.gethostname()}"
POLL = 1.0
# key -> (kind, app as recorded, title)
WINDOWS = {
    "start": ("foot", "org.example.Start", "start sentinel"),
    "editor": ("foot", "org.example.Editor", "report.txt — editor"),
    "chat": ("foot", "chat.app", "chat: Ålice ✓ 日本"),
    "xterm": ("xterm", "XTermLegacy", "plain shell (X11)"),
    "end": ("foot", "org.example.End", "end sentinel"),
}
APP = {key: app for key, (_kind, app, _title) in WINDOWS.items()}
TITLE = {key: title for key, (_kind, _app, title) in WINDOWS.items()}


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SwaySession,
                                                                         dict[str, int]]]:
    user = UserSession(tmp_path_factory.mktemp("sway"))
    try:
        sway = SwaySession(user).start()
        windows = {}
        for key, (kind, app, title) in WINDOWS.items():
            opener = sway.open_foot if kind == "foot" else sway.open_xterm
            windows[key] = opener(app, title)
        yield sway, windows
    finally:
        user.stop()


def window_watcher(sway: SwaySession, server: ServerProcess, tmp_path: Path,
                   *extra: str) -> DesktopWatcher:
    args = ["--testing", "--port", str(server.port), "--poll-time", str(POLL), *extra]
    return DesktopWatcher(sway.user, "window", args, sway.env(), tmp_path / "window.log").start()


def events_until(server: ServerProcess, bucket: str, title: str) -> list[dict[str, Any]]:
    def arrived() -> list[dict[str, Any]]:
        events = server.events(bucket)
        return events if any(e["data"].get("title") == title for e in events) else []

    return list(poll(arrived, f"{title!r} on the server", timeout=60))


def segments(events: list[dict[str, Any]], played: list[Played],
             skip: set[str]) -> list[tuple[dict[str, Any], Played]]:
    """Recorded events paired with the played segments, after checking they match."""
    skipped_titles = {TITLE[key] for key in skip}
    recorded = [e for e in events if e["data"]["title"] not in skipped_titles]
    expected = [p for p in played if p.window not in skip]
    assert [(e["data"]["app"], e["data"]["title"]) for e in recorded] == \
        [(APP[p.window], TITLE[p.window]) for p in expected]
    return list(zip(recorded, expected, strict=True))


def test_focus_switches_recorded_per_segment_with_xwayland_like_native(
        desktop: tuple[SwaySession, dict[str, int]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    sway, windows = desktop
    sway.activate(windows["start"])
    watcher = window_watcher(sway, preferred_server, tmp_path)
    assert watcher.saw("window source wlroots (zwlr_foreign_toplevel_manager_v1 v3)")
    plan = [("editor", 2.5), ("xterm", 2.5), ("chat", 2.5), ("editor", 2.0), ("xterm", 2.0)]
    played = play(sway, windows, [Step(k, s) for k, s in plan] + [Step("end", 1.5)])
    assert watcher.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    assert all(e["data"]["app"] != "unknown" for e in events), events
    for event, segment in segments(events, played[:-1], skip={"start", "end"}):
        assert abs(float(event["duration"]) - segment.seconds) <= 0.1, (event, segment)


@pytest.mark.slow
def test_per_app_totals_within_one_percent(desktop: tuple[SwaySession, dict[str, int]],
                                           preferred_server: ServerProcess,
                                           tmp_path: Path) -> None:
    sway, windows = desktop
    sway.activate(windows["start"])
    watcher = window_watcher(sway, preferred_server, tmp_path)
    plan = [("editor", 9), ("chat", 6), ("xterm", 8), ("editor", 5), ("chat", 10),
            ("xterm", 7), ("editor", 8), ("xterm", 5), ("chat", 7)]
    played = play(sway, windows, [Step(k, s) for k, s in plan] + [Step("end", 1.5)])
    assert watcher.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    script = totals((APP[p.window], p.seconds) for p in played[:-1] if p.window != "start")
    recorded = recorded_by(events, "app")
    for app, seconds in script.items():
        error = (recorded.get(app, 0.0) - seconds) / seconds
        assert abs(error) <= 0.01, (app, recorded, script)


def test_title_changes_of_the_focused_window_only(
        desktop: tuple[SwaySession, dict[str, int]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    """A retitle of the focused window starts a new event at that moment; one of a
    window in the background records nothing."""
    sway, windows = desktop
    sway.activate(windows["editor"])
    watcher = window_watcher(sway, preferred_server, tmp_path, "--verbose")
    time.sleep(1.5)
    sway.retitle(windows["chat"], "chat: Bob (background)")
    time.sleep(1.5)
    retitled_at = time.time()
    sway.retitle(windows["editor"], "notes.md — editor")
    time.sleep(2.0)
    sway.retitle(windows["editor"], TITLE["editor"])  # as it was, for the other tests
    sway.retitle(windows["chat"], TITLE["chat"])
    time.sleep(1.0)
    sway.activate(windows["end"])
    time.sleep(1.5)
    assert watcher.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    titles = [e["data"]["title"] for e in events]
    assert titles == [TITLE["editor"], "notes.md — editor", TITLE["editor"], TITLE["end"]]
    assert "chat: Bob (background)" not in repr(events)
    renamed = events[1]
    assert abs(timestamp(renamed) - retitled_at) <= 0.1
    assert abs(float(renamed["duration"]) - 2.0) <= 0.25


def test_xwayland_titles_in_latin1_or_utf8_properties_read_as_on_x11(
        desktop: tuple[SwaySession, dict[str, int]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    """An old X program's Latin-1 WM_NAME (which wlroots passes on undecoded) and a
    modern one's UTF-8 _NET_WM_NAME are both recorded as the title the program set."""
    sway, windows = desktop
    latin = sway.open_xterm("XLatin", "Café crème (X11)")
    utf8 = sway.open_xterm("XUtf8", "日本語 — X11 ✓")
    sway.activate(windows["start"])
    watcher = window_watcher(sway, preferred_server, tmp_path)
    for con_id in (latin, utf8):
        sway.activate(con_id)
        time.sleep(1.5)
    sway.activate(windows["end"])
    time.sleep(1.5)
    assert watcher.stop() == 0
    events = events_until(preferred_server, WINDOW_BUCKET, TITLE["end"])
    assert [(e["data"]["app"], e["data"]["title"]) for e in events[1:3]] == [
        ("XLatin", "Café crème (X11)"), ("XUtf8", "日本語 — X11 ✓")]
    assert "Traceback" not in watcher.output()


def test_afk_after_the_timeout_and_back_within_one_poll(
        desktop: tuple[SwaySession, dict[str, int]], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    """No input for longer than the timeout → afk from the last input; virtual keyboard
    input (wtype, which sway counts like a real key) → not-afk within one poll."""
    sway, _windows = desktop
    timeout, poll_s = 3.0, 0.5
    sway.type_key()
    watcher = DesktopWatcher(sway.user, "afk", [
        "--testing", "--port", str(preferred_server.port), "--timeout", str(timeout),
        "--poll-time", str(poll_s)], sway.env(), tmp_path / "afk.log").start()
    assert watcher.saw("idle source org-kde-kwin-idle")
    last_input, back = away_and_back(sway.type_key, watcher.saw, away_s=1.0)
    noticed = time.time()
    for _ in range(3):
        sway.type_key()
        time.sleep(0.4)
    assert watcher.stop() == 0
    assert noticed - back <= poll_s + 0.2  # one poll, plus the log line's way to us
    poll(lambda: [e for e in preferred_server.events(AFK_BUCKET) if timestamp(e) > back - 0.1],
         "the return on the server")
    check_away_and_back(preferred_server.events(AFK_BUCKET), last_input, back,
                        tolerance=poll_s, timeout=timeout)


def test_compositor_gone_exits_1_after_flushing(preferred_server: ServerProcess,
                                                tmp_path: Path) -> None:
    user = UserSession(tmp_path / "own-sway")
    try:
        sway = SwaySession(user).start()
        sway.activate(sway.open_foot("org.example.Last", "last words"))
        watcher = window_watcher(sway, preferred_server, tmp_path, "--verbose")
        poll(lambda: watcher.saw("Window: "), "the first poll")
        sway.swaymsg("exit", check=False)
        assert watcher.proc is not None
        assert watcher.proc.wait(30) == 1
        assert watcher.saw("closed the connection")
        events = preferred_server.events(WINDOW_BUCKET)
        assert [e["data"]["title"] for e in events] == ["last words"]
    finally:
        user.stop()
