"""The KWin script's reports turned into windows (the integration tests are in
tests/watchers/wayland/test_kwin.py; these are the cases KWin is not asked to produce)."""

from __future__ import annotations

from watchers.window.backends import NOTHING_FOCUSED, UNKNOWN, WindowInfo
from watchers.window.backends.kwin import window_from_script


def test_no_active_window_is_reported_as_nothing_focused() -> None:
    assert window_from_script("", "", "") == NOTHING_FOCUSED


def test_app_is_the_resource_class_else_the_resource_name() -> None:
    assert window_from_script("org.kde.dolphin", "dolphin", "Home") == \
        WindowInfo("org.kde.dolphin", "Home")
    assert window_from_script("", "someprogram", "A title") == WindowInfo("someprogram",
                                                                          "A title")
    assert window_from_script("", "", "Only a title") == WindowInfo(UNKNOWN, "Only a title")


def test_an_empty_title_stays_empty() -> None:
    assert window_from_script("xterm", "xterm", "") == WindowInfo("xterm", "")


def test_kwins_duplicate_marker_is_dropped() -> None:
    # KWin appends " <N>" (X11 windows: plus U+200E) when another window has the title.
    assert window_from_script("xterm", "xterm", "same <2>\u200e").title == "same"
    assert window_from_script("foot", "foot", "same <12>").title == "same"


def test_titles_that_only_look_alike_are_kept() -> None:
    for title in ("a <2> b", "vector<2>", "x <two>", "<2>"):
        assert window_from_script("app", "app", title).title == title
