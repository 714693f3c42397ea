"""Which Wayland desktop a watcher runs in, to pick its backends.

Two sources, in this order:
1. The compositor's globals. They are facts about the compositor we are connected to:
   `zwlr_foreign_toplevel_manager_v1` means a wlroots compositor (sway, Hyprland,
   river, labwc, Wayfire), `gtk_shell1` is offered by Mutter (GNOME) only, and the
   `org_kde_plasma_*` globals by KWin only. (sway also offers `org_kde_kwin_idle`
   and KDE's server decoration, so "any org_kde_ global" would not do.)
2. `XDG_CURRENT_DESKTOP` (a colon-separated list such as `ubuntu:GNOME`), for when the
   display cannot be reached: GNOME's and KDE's window sources speak D-Bus and may
   still work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from watchers.wayland.client import (
    WaylandUnavailableError,
    display_name,
    probe_globals,
)

WLROOTS = "wlroots"
GNOME = "gnome"
KDE = "kde"
FAMILIES = (WLROOTS, GNOME, KDE)
WLR_TOPLEVELS = "zwlr_foreign_toplevel_manager_v1"
MUTTER_GLOBAL = "gtk_shell1"
KWIN_GLOBALS = ("org_kde_plasma_window_management", "org_kde_plasma_shell")
WLROOTS_DESKTOPS = "sway, Hyprland, river, labwc, Wayfire"


def desktop_names(environ: Mapping[str, str]) -> list[str]:
    return [part for part in environ.get("XDG_CURRENT_DESKTOP", "").split(":") if part]


def family_of(desktops: Sequence[str], offered: Mapping[str, int] | None) -> str | None:
    """"wlroots", "gnome", "kde" or None (unknown), from the globals, else the names."""
    if offered:
        if WLR_TOPLEVELS in offered:
            return WLROOTS
        if MUTTER_GLOBAL in offered:
            return GNOME
        if any(name in offered for name in KWIN_GLOBALS):
            return KDE
    lowered = [name.lower() for name in desktops]
    if any("gnome" in name for name in lowered):
        return GNOME
    if "kde" in lowered:
        return KDE
    return None


def compositor_hint(desktops: Sequence[str], offered: Mapping[str, int] | None) -> str:
    """A name for the compositor in messages ("" when nothing tells): weston names its
    own globals, other compositors are named by the session's XDG_CURRENT_DESKTOP."""
    if offered and any(name.startswith("weston_") for name in offered):
        return "weston"
    return ":".join(desktops)


@dataclass(frozen=True)
class WaylandDesktop:
    """What is known about this session; `globals` is None when the display was unreachable."""

    desktops: list[str]
    display: str
    globals: dict[str, int] | None
    connect_error: str = ""
    family: str | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", family_of(self.desktops, self.globals))

    @classmethod
    def detect(cls) -> WaylandDesktop:
        env = dict(os.environ)
        try:
            offered: dict[str, int] | None = probe_globals()
            error = ""
        except WaylandUnavailableError as exc:
            offered, error = None, str(exc)
        return cls(desktop_names(env), display_name(env), offered, error)

    def describe(self) -> str:
        """"sway on Wayland display wayland-1", for log lines and messages."""
        name = compositor_hint(self.desktops, self.globals)
        return f"{name} on Wayland display {self.display}" if name else \
            f"Wayland display {self.display}"

    def lacks(self, interface: str) -> bool:
        return self.globals is not None and interface not in self.globals
