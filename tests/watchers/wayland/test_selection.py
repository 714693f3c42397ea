"""Backend choice with real compositors: what cannot be tracked is refused with one clear
message and exit code 3, and a forced `--backend` that does not fit says why.

weston (headless) offers no window list and no idle protocol; sway offers both, which
makes it the place to show that forcing GNOME or KDE there fails cleanly. The watchers
run as the desktop user with a session bus, as on a real desktop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.watchers.wayland.harness import DesktopWatcher, UserSession
from tests.watchers.wayland.sway import SwaySession
from tests.watchers.wayland.weston import SOCKET, WestonSession

UNSUPPORTED = 3


@pytest.fixture(scope="module")
def weston(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WestonSession]:
    user = UserSession(tmp_path_factory.mktemp("weston"))
    try:
        user.start_session_bus()
        yield WestonSession(user).start()
    finally:
        user.stop()


@pytest.fixture(scope="module")
def sway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwaySession]:
    user = UserSession(tmp_path_factory.mktemp("sway"))
    try:
        user.start_session_bus()
        yield SwaySession(user).start()
    finally:
        user.stop()


def refused(user: UserSession, kind: str, env: dict[str, str], tmp_path: Path,
            *args: str) -> str:
    """Run a watcher that must exit 3; the one error line it logged."""
    watcher = DesktopWatcher(user, kind, ["--testing", "--port", "9", *args], env,
                             tmp_path / f"{kind}.log")
    assert watcher.run_to_exit() == UNSUPPORTED, watcher.output()
    errors = [line for line in watcher.lines if "[ERROR]" in line]
    assert len(errors) == 1, watcher.output()
    assert "Traceback" not in watcher.output()
    return errors[0]


def test_weston_window_watcher_names_what_the_compositor_lacks(weston: WestonSession,
                                                               tmp_path: Path) -> None:
    # An X display in the environment (as XWayland sets one) must not lure it to X11.
    line = refused(weston.user, "window", weston.env(DISPLAY=":99"), tmp_path)
    assert f"Window tracking is unavailable: no way to read the focused window on weston " \
           f"on Wayland display {SOCKET}: it offers no zwlr_foreign_toplevel_manager_v1" in line
    assert "XDG_CURRENT_DESKTOP (unset) names neither GNOME nor KDE" in line
    assert "X11 tracking is not used on Wayland" in line


def test_weston_afk_watcher_names_each_idle_source_it_tried(weston: WestonSession,
                                                            tmp_path: Path) -> None:
    line = refused(weston.user, "afk", weston.env(DISPLAY=":99"), tmp_path)
    assert f"AFK tracking is unavailable: no idle-time source on weston on Wayland display " \
           f"{SOCKET}" in line
    assert "idle protocol: the compositor offers neither ext_idle_notifier_v1 nor " \
           "org_kde_kwin_idle" in line
    assert "org.freedesktop.ScreenSaver: " in line


def test_forcing_wlroots_on_weston_says_what_is_missing(weston: WestonSession,
                                                        tmp_path: Path) -> None:
    line = refused(weston.user, "window", weston.env(), tmp_path, "--backend", "wlroots")
    assert "wlroots (forced with --backend) on weston" in line
    assert "does not offer zwlr_foreign_toplevel_manager_v1" in line
    line = refused(weston.user, "afk", weston.env(), tmp_path, "--backend", "wlroots")
    assert "[wlroots (forced with --backend)]" in line
    assert "ScreenSaver" not in line  # only the wlroots source was tried


@pytest.mark.parametrize(("family", "window_says", "afk_says"), [
    ("gnome", "gnome (forced with --backend) on sway", "Mutter IdleMonitor: "),
    ("kde", "kde (forced with --backend) on sway", "org.freedesktop.ScreenSaver: "),
])
def test_forcing_another_desktop_on_sway_fails_cleanly(sway: SwaySession, tmp_path: Path,
                                                       family: str, window_says: str,
                                                       afk_says: str) -> None:
    line = refused(sway.user, "window", sway.env(), tmp_path, "--backend", family)
    assert window_says in line
    if family == "gnome":  # KDE's idle source is the protocol sway has: it works there
        line = refused(sway.user, "afk", sway.env(), tmp_path, "--backend", family)
        assert afk_says in line


def test_forcing_x11_on_wayland_warns_that_only_xwayland_is_seen(weston: WestonSession,
                                                                 tmp_path: Path) -> None:
    watcher = DesktopWatcher(weston.user, "window", ["--testing", "--backend", "x11"],
                             weston.env(), tmp_path / "x11.log")
    assert watcher.run_to_exit() == UNSUPPORTED
    assert watcher.saw("X11 forced on a Wayland session: only XWayland windows")
    assert watcher.saw("Window tracking is unavailable: cannot open X display")
