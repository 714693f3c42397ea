"""Title exclusion, on every backend's code path: each backend's WindowInfo goes through
the watcher's single `poll_once`, which is where the title is replaced."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.watchers.fakeserver import FakeServer
from watchers.client import Client
from watchers.config import ClientSettings
from watchers.heartbeat import US_PER_S
from watchers.process import Stopper
from watchers.queue import HeartbeatQueue
from watchers.window.backends import PollingMixin, WindowInfo
from watchers.window.backends.gnome import window_from_extension
from watchers.window.backends.kwin import window_from_script
from watchers.window.backends.macos import frontmost_owner
from watchers.window.backends.windows import app_name
from watchers.window.backends.wlroots import ToplevelTracker, parse_states
from watchers.window.privacy import EXCLUDED, InvalidPatternError, PrivacyRules
from watchers.window.watcher import WindowSettings, WindowWatcher


def test_exclude_title_hides_everything() -> None:
    rules = PrivacyRules.from_config(True, [])
    assert rules.apply(WindowInfo("Firefox", "Inbox")) == {"app": "Firefox", "title": EXCLUDED}


def test_exclude_titles_case_insensitive_search() -> None:
    rules = PrivacyRules.from_config(False, ["bank", r"^secret\b"])
    assert rules.apply(WindowInfo("ff", "My BANK account"))["title"] == EXCLUDED
    assert rules.apply(WindowInfo("ff", "Secret plans"))["title"] == EXCLUDED
    assert rules.apply(WindowInfo("ff", "not secret"))["title"] == "not secret"


def test_exclude_apps_hides_titles_of_those_apps_only() -> None:
    rules = PrivacyRules.from_config(False, [], ["keepassxc", "^signal$"])
    assert rules.apply(WindowInfo("KeePassXC", "db.kdbx")) == {"app": "KeePassXC",
                                                              "title": EXCLUDED}
    assert rules.apply(WindowInfo("Signal", "Alice"))["title"] == EXCLUDED
    assert rules.apply(WindowInfo("signal-cli", "x"))["title"] == "x"


def test_invalid_regex_is_reported_with_its_key() -> None:
    with pytest.raises(InvalidPatternError, match="exclude_titles"):
        PrivacyRules.from_config(False, ["("])


SECRET = "Bank of Secrets — ✓"

# What each backend turns its platform data into, using the backends' own parsing code.
BACKEND_WINDOWS: dict[str, Callable[[], WindowInfo]] = {
    "x11": lambda: WindowInfo("XTerm", SECRET),
    "gnome-wayland": lambda: window_from_extension(
        {"title": SECRET, "wm_class": "org.gnome.Nautilus", "app_id": "org.gnome.Nautilus"}),
    "kde-wayland": lambda: window_from_script("org.kde.dolphin", "dolphin", SECRET),
    "wlroots-wayland": lambda: _wlroots(SECRET),
    "windows": lambda: WindowInfo(app_name(r"C:\Program Files\App\app.exe"), SECRET),
    "macos": lambda: _mac(SECRET),
}


def _wlroots(title: str) -> WindowInfo:
    tracker = ToplevelTracker()
    tracker.new(1)
    tracker.app_id(1, "foot")
    tracker.title(1, title)
    tracker.state(1, parse_states(struct.pack("=I", 2)))  # activated
    tracker.done(1)
    return tracker.focused()


def _mac(title: str) -> WindowInfo:
    owner = frontmost_owner(
        [{"kCGWindowLayer": 0, "kCGWindowOwnerName": "Safari", "kCGWindowOwnerPID": 7}])
    assert owner is not None
    return WindowInfo(owner[0], title)


class OneWindow(PollingMixin):
    name = "test"

    def __init__(self, window: WindowInfo) -> None:
        self.window = window

    def current_window(self) -> WindowInfo | None:
        return self.window

    def close(self) -> None:
        pass


class Clock:
    t = 0.0

    def now_us(self) -> int:
        self.t += 1
        return int((1_700_000_000 + self.t) * US_PER_S)

    def monotonic(self) -> float:
        return self.t


@pytest.mark.parametrize("backend", sorted(BACKEND_WINDOWS))
@pytest.mark.parametrize("rules", [
    PrivacyRules.from_config(True, []),
    PrivacyRules.from_config(False, ["bank of"]),
])
def test_title_never_leaves_the_watcher(backend: str, rules: PrivacyRules, tmp_path: Path,
                                        fake_server: FakeServer) -> None:
    window = BACKEND_WINDOWS[backend]()
    assert window.title == SECRET
    client = Client("aw-watcher-window",
                    ClientSettings("127.0.0.1", fake_server.port, 10.0, None, True),
                    HeartbeatQueue(tmp_path / "q.sqlite"), hostname="h")
    watcher = WindowWatcher(WindowSettings(1.0), OneWindow(window), rules, client,
                            stopper=Stopper(), clock=Clock())
    client.register_bucket(watcher.bucket_id, "currentwindow")
    client.start()
    for _ in range(3):
        watcher.poll_once()
    assert client.close() == 0
    (event,) = fake_server.events("aw-watcher-window_h")
    assert event["data"] == {"app": window.app, "title": EXCLUDED}
    everything_sent = repr([r.body for r in fake_server.requests])
    assert "Secrets" not in everything_sent
    queue_file = (tmp_path / "q.sqlite").read_bytes()
    assert b"Secrets" not in queue_file
