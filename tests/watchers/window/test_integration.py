"""The real aw-watcher-window subprocess, a real X session and a real server subprocess.

Windows have unique titles, so "every heartbeat arrived exactly once" is checkable:
each scripted segment must come back as exactly one event of the right length.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.watchers.helpers import wait_until
from tests.watchers.processes import WatcherProcess, watcher_env
from tests.watchers.scenario import Played, Step, play, recorded_by, totals
from tests.watchers.servers import ServerProcess
from tests.watchers.xsession import XSession

pytestmark = pytest.mark.x11

POLL = 1.0
BUCKET = f"aw-watcher-window_{socket.gethostname()}"
TITLES = {
    "start": ("StartClass", "start sentinel"),
    "w1": ("EditorClass", "report.txt — editor"),
    "w2": ("XTerm", "Beta Term — ünïcode 日本"),  # COMPOUND_TEXT WM_NAME
    "w3": ("BrowserClass", "Online Secret Bank"),  # excluded by --exclude-titles
    "w4": ("EditorClass", "notes.md — editor"),
    "w5": ("ChatClass", "chat: Alice"),
    "w6": ("BrowserClass", "news page"),
    "w7": ("XTerm", "plain shell"),
    "w8": ("ChatClass", "chat: Bob"),
    "pause": ("PauseClass", "pause sentinel"),
    "end": ("EndClass", "end sentinel"),
}
RECORDED_TITLE = {key: ("excluded" if "Secret" in title else title)
                  for key, (_cls, title) in TITLES.items()}


@pytest.fixture(scope="module")
def windows(xsession: XSession) -> dict[str, int]:
    table = {}
    for key, (cls, title) in TITLES.items():
        table[key] = xsession.open_xterm(title, cls=None if cls == "XTerm" else cls)
    return table


def start_watcher(x: XSession, server: ServerProcess, tmp_path: Path,
                  *extra: str) -> WatcherProcess:
    args = ["--testing", "--port", str(server.port), "--poll-time", str(POLL),
            "--exclude-titles", "secret", *extra]
    return WatcherProcess("window", args, watcher_env(tmp_path / "aw", x.display),
                          tmp_path / "watcher.log").start()


def events_once_settled(server: ServerProcess, last_title: str) -> list[dict[str, Any]]:
    def ready() -> list[dict[str, Any]]:
        events = server.events(BUCKET)
        return events if any(e["data"]["title"] == last_title for e in events) else []

    return wait_until(ready, f"event {last_title!r} on the server", timeout=60)


def check_segments_once(events: list[dict[str, Any]], played: list[Played],
                        skip: set[str]) -> None:
    """Every played segment is one event, in order, within one poll of its length."""
    recorded = [e for e in events if e["data"]["title"] not in {RECORDED_TITLE[k] for k in skip}]
    expected = [p for p in played if p.window not in skip]
    assert [e["data"]["title"] for e in recorded] == [RECORDED_TITLE[p.window] for p in expected]
    for event, segment in zip(recorded, expected, strict=True):
        assert event["data"]["app"] == TITLES[segment.window][0]
        assert abs(float(event["duration"]) - segment.seconds) <= POLL, (event, segment)
    assert "Secret" not in repr(events)


def test_scripted_focus_switches(xsession: XSession, windows: dict[str, int],
                                 server: ServerProcess, tmp_path: Path) -> None:
    xsession.activate(windows["start"])
    watcher = start_watcher(xsession, server, tmp_path)
    steps = [Step(k, 2.5) for k in ("w1", "w2", "w3", "w4")] + [Step("end", 1.5)]
    played = play(xsession, windows, steps)
    assert watcher.stop() == 0
    events = events_once_settled(server, RECORDED_TITLE["end"])
    check_segments_once(events, played[:-1], skip={"start", "end"})
    assert server.buckets() == {} or server.buckets()[BUCKET]["type"] == "currentwindow"


def test_server_stopped_mid_stream_then_restarted(xsession: XSession, windows: dict[str, int],
                                                  server: ServerProcess, tmp_path: Path) -> None:
    xsession.activate(windows["start"])
    watcher = start_watcher(xsession, server, tmp_path)
    keys = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"]

    def hook(index: int) -> None:
        if index == 1:
            server.stop()
        elif index == 5:
            server.start()

    played = play(xsession, windows, [Step(k, 2.5) for k in keys] + [Step("end", 1.5)], hook)
    assert watcher.running(), watcher.output()
    assert watcher.saw("server unreachable, ")
    assert watcher.stop() == 0
    events = events_once_settled(server, RECORDED_TITLE["end"])
    check_segments_once(events, played[:-1], skip={"start", "end"})


def test_kill_9_with_a_full_queue_loses_nothing(xsession: XSession, windows: dict[str, int],
                                               server: ServerProcess, tmp_path: Path) -> None:
    xsession.activate(windows["start"])
    server.stop()  # everything from here on is queued on disk
    watcher = start_watcher(xsession, server, tmp_path)
    state: dict[str, WatcherProcess] = {"w": watcher}

    def hook(index: int) -> None:
        if index == 3:  # the sentinel is focused: kill, restart, go on
            state["w"].kill9()
            state["w"] = start_watcher(xsession, server, tmp_path)

    steps = [Step(k, 2.5) for k in ("w1", "w2", "w3")] + [Step("pause", 1.0)] + \
            [Step(k, 2.5) for k in ("w4", "w5")] + [Step("end", 1.5)]
    played = play(xsession, windows, steps, hook)
    assert state["w"].stop() == 0  # still no server: stops with the queue on disk
    restarted = start_watcher(xsession, server, tmp_path)
    server.start()
    events = events_once_settled(server, RECORDED_TITLE["end"])
    assert restarted.stop() == 0
    check_segments_once(events, played[:-1], skip={"start", "pause", "end"})


@pytest.mark.slow
def test_two_minute_session_per_app_totals_within_one_percent(
        xsession: XSession, windows: dict[str, int], preferred_server: ServerProcess,
        tmp_path: Path) -> None:
    server = preferred_server
    xsession.activate(windows["start"])
    watcher = start_watcher(xsession, server, tmp_path)
    plan = [("w1", 14), ("w5", 8), ("w2", 11), ("w6", 7), ("w4", 12), ("w7", 9), ("w8", 13),
            ("w3", 6), ("w1", 10), ("w5", 8), ("w6", 12), ("w2", 10)]
    played = play(xsession, windows, [Step(k, s) for k, s in plan] + [Step("end", 1.5)])
    assert watcher.stop() == 0
    events = events_once_settled(server, RECORDED_TITLE["end"])
    script = totals((TITLES[p.window][0], p.seconds) for p in played[:-1])
    recorded = recorded_by(events, "app")
    for app, seconds in script.items():
        assert abs(recorded.get(app, 0.0) - seconds) <= 0.01 * seconds, (app, recorded, script)


def test_x_server_gone_exits_after_flushing(own_xsession: XSession, server: ServerProcess,
                                            tmp_path: Path) -> None:
    x = own_xsession
    x.activate(x.open_xterm("last words", cls="LastClass"))
    watcher = start_watcher(x, server, tmp_path, "--verbose")
    wait_until(lambda: watcher.saw("Window: "), "the first poll")
    assert x.xvfb is not None
    x.xvfb.terminate()
    x.xvfb.wait(10)
    assert watcher.proc is not None
    assert watcher.proc.wait(30) == 1
    assert watcher.saw("X server closed the connection")
    events = server.events(BUCKET)
    assert [e["data"]["title"] for e in events] == ["last words"]
