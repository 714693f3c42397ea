"""The Wayland pieces that need no compositor: desktop detection, the toplevel state
machine, and our protocol XML (whose message order is its opcodes)."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from watchers.wayland.desktop import compositor_hint, family_of
from watchers.wayland.protocols import PROTOCOL_FILES, protocol_module
from watchers.window.backends import NOTHING_FOCUSED, WindowInfo
from watchers.window.backends.wlroots import ToplevelTracker, parse_states

SWAY_1_7 = {"wl_seat": 7, "org_kde_kwin_idle": 1, "zwlr_foreign_toplevel_manager_v1": 3,
            "org_kde_kwin_server_decoration_manager": 1, "xdg_wm_base": 2}
MUTTER = {"wl_seat": 8, "gtk_shell1": 5, "xdg_wm_base": 6}
KWIN = {"wl_seat": 8, "org_kde_plasma_window_management": 16, "ext_idle_notifier_v1": 1,
        "org_kde_kwin_idle": 1}
WESTON = {"wl_seat": 7, "weston_desktop_shell": 1, "xdg_wm_base": 3}


@pytest.mark.parametrize(("desktops", "offered", "family"), [
    ([], SWAY_1_7, "wlroots"),  # sway also offers org_kde_ globals: they must not say KDE
    (["GNOME"], SWAY_1_7, "wlroots"),  # the compositor's own globals win over the name
    ([], MUTTER, "gnome"),
    ([], KWIN, "kde"),
    ([], WESTON, None),
    (["ubuntu", "GNOME"], None, "gnome"),  # display unreachable: the session's name
    (["KDE"], None, "kde"),
    (["sway"], None, None),
    ([], None, None),
])
def test_desktop_family(desktops: list[str], offered: dict[str, int] | None,
                        family: str | None) -> None:
    assert family_of(desktops, offered) == family


def test_compositor_hint() -> None:
    assert compositor_hint([], WESTON) == "weston"
    assert compositor_hint(["sway"], SWAY_1_7) == "sway"
    assert compositor_hint([], SWAY_1_7) == ""


def test_toplevel_changes_apply_at_done_and_the_activated_one_is_focused() -> None:
    tracker = ToplevelTracker()
    tracker.new(1)
    tracker.title(1, "notes")
    tracker.app_id(1, "editor")
    tracker.state(1, [2])
    assert tracker.focused() == NOTHING_FOCUSED  # nothing applies before `done`
    tracker.done(1)
    assert tracker.focused() == WindowInfo("editor", "notes")
    tracker.new(2)
    tracker.app_id(2, "term")
    tracker.done(2)  # a new window, not activated
    tracker.title(1, "notes*")
    assert tracker.focused() == WindowInfo("editor", "notes")
    tracker.done(1)
    assert tracker.focused() == WindowInfo("editor", "notes*")


def test_switches_closing_and_several_activated_windows() -> None:
    tracker = ToplevelTracker()
    for key, app in ((1, "a"), (2, "b")):
        tracker.new(key)
        tracker.app_id(key, app)
        tracker.done(key)
    tracker.state(1, [2])
    tracker.done(1)
    tracker.state(2, [0, 2])  # maximized and activated: a second seat's focus
    tracker.done(2)
    assert tracker.focused().app == "b"  # the one activated last
    tracker.closed(2)
    assert tracker.focused().app == "a"
    tracker.state(1, [1])  # minimized, no longer activated
    tracker.done(1)
    assert tracker.focused() == NOTHING_FOCUSED
    tracker.new(3)
    tracker.state(3, [2])
    tracker.done(3)  # no app id or title (yet)
    assert tracker.focused() == WindowInfo("unknown", "unknown")


def test_state_array_is_native_uint32() -> None:
    assert parse_states(struct.pack("=3I", 0, 2, 3)) == [0, 2, 3]
    assert parse_states(b"") == []
    assert parse_states([2]) == [2]


def signature(interface: Any, kind: str) -> list[tuple[str, list[str], int | None]]:
    return [(m.name, [a.argument_type.name for a in m.arguments], m.version)
            for m in getattr(interface, kind)]


def test_our_ext_idle_notify_xml_matches_the_upstream_protocol() -> None:
    """pywayland ships bindings generated from the upstream ext-idle-notify-v1 XML;
    ours must give every message the same opcode and argument types."""
    import pywayland.protocol.ext_idle_notify_v1 as upstream

    ours = protocol_module("ext_idle_notify_v1")
    for name in ("ExtIdleNotifierV1", "ExtIdleNotificationV1"):
        for kind in ("requests", "events"):
            assert signature(getattr(ours, name), kind) == \
                signature(getattr(upstream, name), kind), (name, kind)


# Written from the upstream XML (wlr-protocols, plasma-wayland-protocols): every message
# in wire order up to the last one we send or may receive.
WIRE_ORDER = {
    ("wlr_foreign_toplevel_management_unstable_v1", "ZwlrForeignToplevelManagerV1"): {
        "requests": ["stop"], "events": ["toplevel", "finished"]},
    ("wlr_foreign_toplevel_management_unstable_v1", "ZwlrForeignToplevelHandleV1"): {
        "requests": ["set_maximized", "unset_maximized", "set_minimized", "unset_minimized",
                     "activate", "close", "set_rectangle", "destroy"],
        "events": ["title", "app_id", "output_enter", "output_leave", "state", "done",
                   "closed", "parent"]},
    ("org_kde_kwin_idle", "OrgKdeKwinIdle"): {"requests": ["get_idle_timeout"], "events": []},
    ("org_kde_kwin_idle", "OrgKdeKwinIdleTimeout"): {
        "requests": ["release", "simulate_user_activity"], "events": ["idle", "resumed"]},
}


@pytest.mark.parametrize(("protocol", "interface"), list(WIRE_ORDER))
def test_message_order_of_our_protocol_xml(protocol: str, interface: str) -> None:
    cls = getattr(protocol_module(protocol), interface)
    for kind, names in WIRE_ORDER[(protocol, interface)].items():
        assert [m.name for m in getattr(cls, kind)] == names


def test_argument_types_where_the_two_idle_protocols_differ() -> None:
    kde = protocol_module("org_kde_kwin_idle").OrgKdeKwinIdle
    assert signature(kde, "requests") == [("get_idle_timeout", ["NewId", "Object", "Uint"],
                                           None)]
    handle = protocol_module("wlr_foreign_toplevel_management_unstable_v1"
                             ).ZwlrForeignToplevelHandleV1
    events = dict((name, args) for name, args, _ in signature(handle, "events"))
    assert events["state"] == ["Array"] and events["parent"] == ["Object"]


def test_every_protocol_file_builds() -> None:
    for name in PROTOCOL_FILES:
        assert protocol_module(name).__name__.endswith(name)
