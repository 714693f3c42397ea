"""Idle time on Wayland: picks the source for this desktop, or says what is missing.

Wayland has no portable "seconds idle" query, so each desktop family has its sources,
tried in order until one works:
- GNOME: Mutter's D-Bus `org.gnome.Mutter.IdleMonitor` (`gnome.py`); Mutter has
  no idle protocol.
- wlroots compositors and KWin: the compositor's idle protocol, `ext_idle_notify_v1`
  or `org_kde_kwin_idle` (`idle_protocol.py`).
- KDE, and desktops we do not know: then `org.freedesktop.ScreenSaver` on the session
  bus (`screensaver.py`), which some desktops answer.
The family comes from the compositor's globals, else `XDG_CURRENT_DESKTOP`
(watchers/wayland/desktop.py), or from `--backend`. When no source works the error
lists each one's reason and the watcher exits 3; it never falls back to X11, whose
idle counter on Wayland only sees input aimed at XWayland windows.
"""

from __future__ import annotations

import importlib
import logging

from watchers.afk.backends import BackendUnavailableError, IdleBackend
from watchers.wayland.desktop import GNOME, KDE, WLROOTS, WaylandDesktop

logger = logging.getLogger(__name__)

MUTTER = ("Mutter IdleMonitor", "watchers.afk.backends.gnome", "MutterIdleBackend")
PROTOCOL = ("idle protocol", "watchers.afk.backends.idle_protocol", "ProtocolIdleBackend")
SCREENSAVER = ("org.freedesktop.ScreenSaver", "watchers.afk.backends.screensaver",
               "ScreenSaverIdleBackend")
SOURCES = {
    GNOME: [MUTTER],
    WLROOTS: [PROTOCOL],
    KDE: [PROTOCOL, SCREENSAVER],
    None: [PROTOCOL, SCREENSAVER],
}


def open_wayland_backend(family: str | None = None,
                         desktop: WaylandDesktop | None = None) -> IdleBackend:
    """The first idle source of `family` (or of the detected desktop) that works."""
    desktop = desktop or WaylandDesktop.detect()
    chosen = family or desktop.family
    reasons = []
    for label, module_name, class_name in SOURCES[chosen]:
        try:
            backend_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            reasons.append(f"{label}: missing from this install ({exc})")
            continue
        try:
            backend: IdleBackend = backend_class()
        except BackendUnavailableError as exc:
            reasons.append(f"{label}: {exc}")
            continue
        logger.info("Wayland session: %s, idle source %s", desktop.describe(), backend.name)
        return backend
    how = f"{chosen} (forced with --backend)" if family else (chosen or "unknown desktop")
    raise BackendUnavailableError(
        f"no idle-time source on {desktop.describe()} [{how}]: " + "; ".join(reasons))
