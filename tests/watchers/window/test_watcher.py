"""The window watcher's poll logic with a scripted backend and clock (no X needed)."""

from __future__ import annotations

from pathlib import Path

from watchers.client import Client
from watchers.config import ClientSettings
from watchers.heartbeat import US_PER_S, Event
from watchers.process import Stopper
from watchers.queue import HeartbeatQueue
from watchers.window.backends import NOTHING_FOCUSED, PollingMixin, WindowInfo
from watchers.window.privacy import PrivacyRules
from watchers.window.watcher import WindowSettings, WindowWatcher

T0 = 1_700_000_000 * US_PER_S


class Scripted(PollingMixin):
    name = "scripted"

    def __init__(self, windows: list[WindowInfo | None]) -> None:
        self.windows = windows

    def current_window(self) -> WindowInfo | None:
        return self.windows.pop(0)

    def close(self) -> None:
        pass


class Clock:
    def __init__(self, times: list[float]) -> None:
        self.times = times

    def now_us(self) -> int:
        return T0 + int(self.times.pop(0) * US_PER_S)

    def monotonic(self) -> float:
        return 0.0


def sent_events(tmp_path: Path, windows: list[WindowInfo | None], times: list[float]
                ) -> list[Event]:
    """Run polls; return what reached the queue (commit interval long, so pure pre-merge)."""
    client = Client("w", ClientSettings("127.0.0.1", 1, 1000.0, None, True),
                    HeartbeatQueue(tmp_path / "q.sqlite"), hostname="h")
    watcher = WindowWatcher(WindowSettings(1.0), Scripted(windows), PrivacyRules(), client,
                            stopper=Stopper(), clock=Clock(times))
    for _ in range(len(times)):
        watcher.poll_once()
    client.queue.flush_pending()
    events = [item.event for item in client.queue.items()]
    client.queue.close()
    return events


A = WindowInfo("a", "one")
B = WindowInfo("b", "two")


def test_switch_closes_previous_event_at_detection(tmp_path: Path) -> None:
    events = sent_events(tmp_path, [A, A, A, B, B], [0, 1, 2, 2.5, 3.5])
    assert events == [
        Event(T0, int(2.5 * US_PER_S), {"app": "a", "title": "one"}),
        Event(T0 + int(2.5 * US_PER_S), US_PER_S, {"app": "b", "title": "two"}),
    ]


def test_no_extension_across_a_pause_longer_than_pulsetime(tmp_path: Path) -> None:
    events = sent_events(tmp_path, [A, A, B], [0, 1, 10])
    assert events[0] == Event(T0, US_PER_S, {"app": "a", "title": "one"})
    assert events[1].timestamp == T0 + 10 * US_PER_S


def test_unreadable_poll_is_skipped_and_unknown_is_recorded(tmp_path: Path) -> None:
    events = sent_events(tmp_path, [A, None, NOTHING_FOCUSED], [0, 1, 2])
    assert [e.data["app"] for e in events] == ["a", "unknown"]
    assert events[0].duration == 2 * US_PER_S  # extended to the switch, across the skipped poll


def test_settings_pulsetime() -> None:
    assert WindowSettings(1.0).pulsetime == 2.0
    assert WindowSettings(5.0).pulsetime == 7.5
