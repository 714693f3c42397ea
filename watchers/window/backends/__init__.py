"""Focused-window sources, one per platform/desktop, chosen at run time.

A backend returns the focused window's app and title, `WindowInfo("unknown",
"unknown")` when nothing is focused, or None when it could not tell this time (a
window closed between two reads); the watcher then skips the poll. Platform modules
are imported only when chosen.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Protocol

from watchers.afk.backends import WAYLAND_FAMILIES, check_forced_x11, session_kind
from watchers.process import Stopper

UNKNOWN = "unknown"


@dataclass(frozen=True)
class WindowInfo:
    app: str
    title: str


NOTHING_FOCUSED = WindowInfo(UNKNOWN, UNKNOWN)


class BackendUnavailableError(RuntimeError):
    """Window tracking cannot work here; the message tells the user why and what to do."""


class BackendGoneError(RuntimeError):
    """The display connection closed (session ended): the watcher should exit."""


class WindowBackend(Protocol):
    name: str

    def current_window(self) -> WindowInfo | None: ...

    def wait(self, timeout: float, stopper: Stopper) -> int | None:
        """Sleep up to `timeout` s or until the focus or title changed.

        Returns the wall-clock time (µs since the epoch) at which the change was first
        seen, or None after a plain timeout or stop.
        """
        ...

    def close(self) -> None: ...


class PollingMixin:
    """`wait` for backends without change notifications: a plain interruptible sleep."""

    def wait(self, timeout: float, stopper: Stopper) -> int | None:
        stopper.wait(timeout)
        return None


def select_backend(kind: str | None = None) -> WindowBackend:
    check_forced_x11(kind)
    kind = kind or session_kind(dict(os.environ), sys.platform)
    if kind == "x11":
        from watchers.window.backends.x11 import X11WindowBackend

        return X11WindowBackend()
    if kind == "wayland" or kind in WAYLAND_FAMILIES:
        from watchers.window.backends.wayland import open_wayland_backend

        return open_wayland_backend(None if kind == "wayland" else kind)
    if kind == "darwin":
        from watchers.window.backends.macos import MacWindowBackend

        return MacWindowBackend()
    if kind == "windows":
        from watchers.window.backends.windows import WindowsWindowBackend

        return WindowsWindowBackend()
    raise BackendUnavailableError(f"unknown session kind {kind!r}")
