"""What the GNOME extension's window description becomes (pure; the D-Bus side runs in
tests/watchers/wayland/test_gnome.py)."""

from __future__ import annotations

from watchers.window.backends import NOTHING_FOCUSED, WindowInfo
from watchers.window.backends.gnome import window_from_extension


def test_app_is_wm_class_as_on_x11_else_the_shell_app_id() -> None:
    assert window_from_extension({"wm_class": "XTerm", "app_id": "debian-xterm",
                                  "title": "Beta — ünïcode"}) == WindowInfo("XTerm",
                                                                            "Beta — ünïcode")
    assert window_from_extension({"wm_class": "", "app_id": "org.gnome.Nautilus",
                                  "title": "Home"}) == WindowInfo("org.gnome.Nautilus", "Home")
    assert window_from_extension({"wm_class_instance": "xterm", "title": ""}) == \
        WindowInfo("xterm", "")


def test_nothing_focused_is_unknown() -> None:
    assert window_from_extension({}) == NOTHING_FOCUSED
    assert window_from_extension({"title": "orphan"}) == WindowInfo("unknown", "orphan")
