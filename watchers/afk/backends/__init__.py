"""Idle-time sources, one per platform, chosen at run time.

Each backend answers one question, "seconds since the last keyboard or mouse input",
from the system's own idle counter; none of them hooks input events, so the watcher
never sees a key. Platform modules are imported only when chosen, so python-xlib, D-Bus
or Wayland libraries are needed only where they are used.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Protocol

logger = logging.getLogger(__name__)


class BackendUnavailableError(RuntimeError):
    """This backend cannot run here; the message says why, for the user."""


class IdleBackend(Protocol):
    name: str

    def seconds_since_input(self) -> float:
        """Seconds since the last user input (keyboard, pointer, touch)."""
        ...

    def close(self) -> None: ...


# `--backend` values of both watchers: a platform, "wayland" (the desktop family is
# detected), or one Wayland desktop family forced.
WAYLAND_FAMILIES = ("wlroots", "gnome", "kde")
BACKEND_CHOICES = ("x11", "wayland", *WAYLAND_FAMILIES, "darwin", "windows")


def session_kind(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """"x11", "wayland", "darwin" or "windows", from the platform and session variables.

    Wayland wins when `WAYLAND_DISPLAY` is set, even with `DISPLAY` present: under
    XWayland the X server only sees input aimed at X clients, so its idle counter lies.
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat == "darwin":
        return "darwin"
    if plat.startswith("win"):
        return "windows"
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "x11"


def check_forced_x11(kind: str | None, environ: Mapping[str, str] | None = None) -> None:
    """Warn when X11 is forced on a Wayland session: it only sees XWayland clients."""
    env = os.environ if environ is None else environ
    if kind == "x11" and session_kind(env) == "wayland":
        logger.warning("X11 forced on a Wayland session: only XWayland windows and input "
                       "aimed at them are seen")


def select_backend(kind: str | None = None) -> IdleBackend:
    """Open the backend for this session, or raise BackendUnavailableError with the reason."""
    check_forced_x11(kind)
    kind = kind or session_kind()
    if kind == "x11":
        from watchers.afk.backends.x11 import X11IdleBackend

        return X11IdleBackend()
    if kind == "wayland" or kind in WAYLAND_FAMILIES:
        from watchers.afk.backends.wayland import open_wayland_backend

        return open_wayland_backend(None if kind == "wayland" else kind)
    if kind == "darwin":
        from watchers.afk.backends.macos import QuartzIdleBackend

        return QuartzIdleBackend()
    if kind == "windows":
        from watchers.afk.backends.windows import WindowsIdleBackend

        return WindowsIdleBackend()
    raise BackendUnavailableError(f"unknown session kind {kind!r}")
