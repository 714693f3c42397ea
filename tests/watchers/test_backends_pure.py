"""The logic of backends that cannot run on this machine (Windows, macOS, Wayland)."""

from __future__ import annotations

import pytest

from watchers.afk.backends import session_kind
from watchers.afk.backends.idle_protocol import IdleNotifyTracker
from watchers.afk.backends.windows import idle_milliseconds
from watchers.window.backends import select_backend as select_window_backend
from watchers.window.backends.macos import frontmost_owner
from watchers.window.backends.windows import app_name


@pytest.mark.parametrize(("env", "platform", "kind"), [
    ({"DISPLAY": ":0"}, "linux", "x11"),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", "wayland"),
    ({"XDG_SESSION_TYPE": "wayland"}, "linux", "wayland"),
    ({}, "darwin", "darwin"),
    ({}, "win32", "windows"),
])
def test_session_kind(env: dict[str, str], platform: str, kind: str) -> None:
    assert session_kind(env, platform) == kind


@pytest.mark.parametrize(("tick64", "last32", "idle"), [
    (10_000, 9_000, 1_000),
    ((1 << 32) + 500, (1 << 32) - 500, 1_000),  # the 32-bit tick wrapped since the input
    ((5 << 32) + 7_000, 2_000, 5_000),  # 64-bit tick far past several wraps
    (1_000, 1_000, 0),
])
def test_windows_idle_wraps(tick64: int, last32: int, idle: int) -> None:
    assert idle_milliseconds(tick64, last32) == idle


def test_idle_notify_tracker_turns_events_into_seconds_since_input() -> None:
    tracker = IdleNotifyTracker(1.0, started=100.0)
    assert tracker.seconds_since_input(100.4) == pytest.approx(0.4)  # since the start
    assert tracker.seconds_since_input(100.9) == pytest.approx(0.9)
    tracker.idled(101.0)  # no input since 100.0
    assert tracker.seconds_since_input(130.0) == 30.0
    tracker.resumed(131.0)  # input at 131.0
    assert tracker.seconds_since_input(131.5) == 0.5
    # Still no idled event: input may go on unseen, so never more than the threshold.
    assert tracker.seconds_since_input(140.0) == 1.0


def test_windows_app_name() -> None:
    assert app_name(r"C:\Program Files\Mozilla Firefox\firefox.exe") == "firefox.exe"
    assert app_name(None) == "unknown"
    assert app_name("") == "unknown"


def test_macos_frontmost_owner_skips_menubar_layers() -> None:
    windows = [
        {"kCGWindowLayer": 25, "kCGWindowOwnerName": "SystemUIServer", "kCGWindowOwnerPID": 1},
        {"kCGWindowLayer": 0, "kCGWindowOwnerName": "Terminal", "kCGWindowOwnerPID": 42},
        {"kCGWindowLayer": 0, "kCGWindowOwnerName": "Finder", "kCGWindowOwnerPID": 3},
    ]
    assert frontmost_owner(windows) == ("Terminal", 42)
    assert frontmost_owner([]) is None


def test_platform_backends_refuse_cleanly_off_platform() -> None:
    from watchers.window.backends import BackendUnavailableError

    for kind in ("darwin", "windows"):
        with pytest.raises(BackendUnavailableError):
            select_window_backend(kind)


def test_afk_platform_backends_refuse_cleanly_off_platform() -> None:
    from watchers.afk.backends import BackendUnavailableError, select_backend

    for kind in ("darwin", "windows"):
        with pytest.raises(BackendUnavailableError):
            select_backend(kind)


def test_afk_x11_without_display_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from watchers.afk.backends import BackendUnavailableError, select_backend

    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(BackendUnavailableError, match="display"):
        select_backend("x11")


def test_lazy_platform_imports() -> None:
    """Importing the watchers must not import python-xlib (or any platform library)."""
    import subprocess
    import sys

    code = ("import sys, watchers.afk.__main__, watchers.window.__main__; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('Xlib', 'jeepney', 'pywayland', 'Quartz', 'AppKit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
