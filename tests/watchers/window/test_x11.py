"""The X11 window backend against a real Xvfb + openbox with real xterms."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.watchers.helpers import wait_until
from tests.watchers.xsession import XSession
from watchers.process import Stopper
from watchers.window.backends import NOTHING_FOCUSED, WindowInfo
from watchers.window.backends.x11 import X11WindowBackend

pytestmark = pytest.mark.x11


@pytest.fixture(scope="module")
def windows(xsession: XSession) -> dict[str, int]:
    return {
        "ascii": xsession.open_xterm("Alpha Term", cls="AlphaClass"),
        # Non-ASCII -T: xterm sets only WM_NAME, as COMPOUND_TEXT.
        "ctext": xsession.open_xterm("Beta Term — ünïcode 日本"),
        "netwm": xsession.open_xterm("placeholder", cls="GammaClass"),
    }


@pytest.fixture
def backend(xsession: XSession) -> X11WindowBackend:
    b = X11WindowBackend(xsession.display)
    yield b  # type: ignore[misc]
    b.close()


def test_ascii_title_and_class(xsession: XSession, windows: dict[str, int],
                               backend: X11WindowBackend) -> None:
    xsession.activate(windows["ascii"])
    assert backend.current_window() == WindowInfo("AlphaClass", "Alpha Term")


def test_compound_text_title(xsession: XSession, windows: dict[str, int],
                             backend: X11WindowBackend) -> None:
    xprop = subprocess.run(["xprop", "-id", str(windows["ctext"]), "WM_NAME", "_NET_WM_NAME"],
                           env=xsession.env, capture_output=True, text=True, check=True).stdout
    assert "WM_NAME(COMPOUND_TEXT)" in xprop and "_NET_WM_NAME:  not found" in xprop
    xsession.activate(windows["ctext"])
    assert backend.current_window() == WindowInfo("XTerm", "Beta Term — ünïcode 日本")


def test_net_wm_name_utf8_and_title_change_wakes_wait(xsession: XSession,
                                                       windows: dict[str, int],
                                                       backend: X11WindowBackend) -> None:
    xsession.activate(windows["netwm"])
    backend.current_window()  # subscribes to the active window's property changes
    backend.wait(0, Stopper())  # drain the activation's events
    xsession.set_title(windows["netwm"], "Gamma ✓ 日本")
    before = time.time_ns() // 1000
    seen = backend.wait(10, Stopper())
    assert seen is not None and seen >= before
    assert backend.current_window() == WindowInfo("GammaClass", "Gamma ✓ 日本")


def test_focus_switch_wakes_wait(xsession: XSession, windows: dict[str, int],
                                 backend: X11WindowBackend) -> None:
    xsession.activate(windows["ascii"])
    backend.current_window()
    backend.wait(0, Stopper())
    threading.Timer(0.2, xsession.activate, [windows["ctext"]]).start()
    assert backend.wait(10, Stopper()) is not None
    wait_until(lambda: backend.current_window() == WindowInfo("XTerm",
                                                              "Beta Term — ünïcode 日本"),
               "the switch to be visible")


def test_stop_interrupts_wait(backend: X11WindowBackend) -> None:
    stopper = Stopper()
    threading.Timer(0.1, stopper.stop, ["test"]).start()
    backend.wait(60, stopper)  # returns long before 60 s or the test times out
    assert stopper.is_set()


def test_active_window_that_vanished_is_skipped_not_fatal(own_xsession: XSession) -> None:
    """The BadWindow race, made deterministic: _NET_ACTIVE_WINDOW names a dead window.

    The window manager is stopped first: openbox answers a killed window by focusing
    another one and rewriting _NET_ACTIVE_WINDOW, which could land after the test's own
    write and make the backend (rightly) report the other window.
    """
    x = own_xsession
    doomed = x.open_xterm("Doomed")
    x.kill_wm()
    backend = X11WindowBackend(x.display)
    try:
        subprocess.run(["xdotool", "windowkill", str(doomed)], env=x.env, check=True)
        subprocess.run(["xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set",
                        "_NET_ACTIVE_WINDOW", hex(doomed)], env=x.env, check=True)
        assert backend.current_window() is None
        subprocess.run(["xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set",
                        "_NET_ACTIVE_WINDOW", "0"], env=x.env, check=True)
        assert backend.current_window() == NOTHING_FOCUSED
    finally:
        backend.close()


def set_active(x: XSession, window: int) -> None:
    """Write `_NET_ACTIVE_WINDOW` as a window manager does (0: nothing focused)."""
    subprocess.run(["xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set",
                    "_NET_ACTIVE_WINDOW", hex(window)], env=x.env, check=True)


def test_slow_focus_switch_through_zero_is_not_unknown(own_xsession: XSession) -> None:
    """A switch whose 0 lasts well past the settling (a loaded machine) names the new window.

    The window manager is stopped so that the test alone writes `_NET_ACTIVE_WINDOW`: the
    old window, then 0, then the new window 0.1 s later, as openbox does when it is
    descheduled in the middle of a switch. Before the grace, this read said "unknown",
    which became an event of its own between the two windows.
    """
    x = own_xsession
    old, new = x.open_xterm("Old", cls="OldClass"), x.open_xterm("New", cls="NewClass")
    x.kill_wm()
    backend = X11WindowBackend(x.display)
    try:
        set_active(x, old)
        assert backend.current_window() == WindowInfo("OldClass", "Old")
        set_active(x, 0)
        threading.Timer(0.1, set_active, [x, new]).start()
        assert backend.current_window() == WindowInfo("NewClass", "New")
    finally:
        backend.close()


def test_nothing_focused_after_a_window_is_unknown_once_it_lasts(own_xsession: XSession) -> None:
    x = own_xsession
    term = x.open_xterm("Closed later", cls="LaterClass")
    x.kill_wm()
    backend = X11WindowBackend(x.display)
    try:
        set_active(x, term)
        assert backend.current_window() == WindowInfo("LaterClass", "Closed later")
        set_active(x, 0)
        assert backend.current_window() == NOTHING_FOCUSED
        assert backend.current_window() == NOTHING_FOCUSED
    finally:
        backend.close()


def test_nothing_focused_is_unknown(own_xsession: XSession) -> None:
    backend = X11WindowBackend(own_xsession.display)
    try:
        # Right after start openbox may point _NET_ACTIVE_WINDOW at its own support
        # window (no WM_CLASS, title "Openbox"): no app either way.
        window = backend.current_window()
        assert window is not None and window.app == NOTHING_FOCUSED.app
    finally:
        backend.close()


def test_survives_window_manager_restart(own_xsession: XSession) -> None:
    x = own_xsession
    term = x.open_xterm("Survivor", cls="SurvivorClass")
    x.activate(term)
    backend = X11WindowBackend(x.display)
    try:
        assert backend.current_window() == WindowInfo("SurvivorClass", "Survivor")
        x.kill_wm()
        # No EWMH WM: the backend falls back to the X input focus.
        x.xdotool("windowfocus", "--sync", str(term))
        assert backend.current_window() == WindowInfo("SurvivorClass", "Survivor")
        x.start_wm()
        other = x.open_xterm("After restart", cls="AfterClass")
        x.activate(other)
        assert backend.current_window() == WindowInfo("AfterClass", "After restart")
    finally:
        backend.close()
