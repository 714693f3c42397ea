"""Focused window on Wayland: picks the backend for this desktop, or says what is missing.

Wayland deliberately hides other clients' windows, so each desktop family has its own
source, in its own module:
- wlroots compositors (sway, Hyprland, river, labwc, Wayfire): the
  `zwlr_foreign_toplevel_manager_v1` protocol (`wlroots.py`);
- GNOME: the project's own GNOME Shell extension, over D-Bus (`gnome.py`);
- KDE Plasma: a KWin script loaded over D-Bus (`kwin.py`).
The family comes from the compositor's globals, else `XDG_CURRENT_DESKTOP`
(watchers/wayland/desktop.py), or from `--backend`. Anything else gets one message
naming the compositor and what it lacks; the watcher exits 3. It never falls back to
X11: on Wayland that would see XWayland windows only and silently miss the rest.
"""

from __future__ import annotations

import importlib
import logging

from watchers.wayland.desktop import (
    GNOME,
    KDE,
    WLR_TOPLEVELS,
    WLROOTS,
    WLROOTS_DESKTOPS,
    WaylandDesktop,
)
from watchers.window.backends import BackendUnavailableError, WindowBackend

logger = logging.getLogger(__name__)

BACKENDS = {
    WLROOTS: ("watchers.window.backends.wlroots", "WlrootsWindowBackend"),
    GNOME: ("watchers.window.backends.gnome", "GnomeWindowBackend"),
    KDE: ("watchers.window.backends.kwin", "KWinWindowBackend"),
}


def open_wayland_backend(family: str | None = None,
                         desktop: WaylandDesktop | None = None) -> WindowBackend:
    """The backend of `family` ("wlroots", "gnome", "kde"), or of the detected desktop."""
    desktop = desktop or WaylandDesktop.detect()
    chosen = family or desktop.family
    if chosen is None:
        raise BackendUnavailableError(unsupported_reason(desktop))
    module_name, class_name = BACKENDS[chosen]
    try:
        backend_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise BackendUnavailableError(
            f"the {chosen} window backend is missing from this install ({exc})") from exc
    try:
        backend: WindowBackend = backend_class()
    except BackendUnavailableError as exc:
        how = "forced with --backend" if family else "detected"
        raise BackendUnavailableError(
            f"{chosen} ({how}) on {desktop.describe()}: {exc}") from exc
    logger.info("Wayland session: %s, window source %s", desktop.describe(), backend.name)
    return backend


def unsupported_reason(desktop: WaylandDesktop) -> str:
    """Why no window source fits, and what would make one fit."""
    if desktop.globals is None:
        seen = f"could not ask the compositor ({desktop.connect_error})"
    else:
        seen = f"it offers no {WLR_TOPLEVELS}"
    return (f"no way to read the focused window on {desktop.describe()}: {seen}, and "
            f"XDG_CURRENT_DESKTOP ({':'.join(desktop.desktops) or 'unset'}) names neither "
            f"GNOME nor KDE. Supported on Wayland: wlroots compositors ({WLROOTS_DESKTOPS}), "
            f"GNOME 43-47 with our shell extension, KDE Plasma 5.27 and 6. X11 tracking is "
            f"not used on Wayland, as it would only see XWayland windows "
            f"(--backend x11 forces it).")
