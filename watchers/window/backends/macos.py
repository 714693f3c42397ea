"""macOS focused window through pyobjc (Quartz + ApplicationServices), imported lazily.

The frontmost app comes from `CGWindowListCopyWindowInfo` (the first on-screen window
of layer 0): unlike `NSWorkspace.frontmostApplication` it stays current in a process
without a Cocoa run loop. The title is the app's focused window's `AXTitle`, which
needs the Accessibility permission; without it the title is "unknown" and a one-time
message says how to grant it. Not runnable on the Linux CI; `frontmost_owner` is the
logic tested there. Needs `pip install pyobjc-framework-Quartz
pyobjc-framework-ApplicationServices`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendUnavailableError,
    PollingMixin,
    WindowInfo,
)

logger = logging.getLogger(__name__)


def frontmost_owner(windows: Iterable[Mapping[str, Any]]) -> tuple[str, int] | None:
    """(owner name, pid) of the frontmost normal window in a front-to-back window list."""
    for window in windows:
        if int(window.get("kCGWindowLayer", -1)) == 0 and window.get("kCGWindowOwnerPID"):
            owner = str(window.get("kCGWindowOwnerName") or UNKNOWN)
            return owner, int(window["kCGWindowOwnerPID"])
    return None


class MacWindowBackend(PollingMixin):
    name = "macos"

    def __init__(self) -> None:
        try:
            self._quartz: Any = importlib.import_module("Quartz")
            self._ax: Any = importlib.import_module("ApplicationServices")
        except ImportError as exc:
            raise BackendUnavailableError(
                "pyobjc-framework-Quartz and pyobjc-framework-ApplicationServices "
                "are not installed") from exc
        self._warned_ax = False

    def current_window(self) -> WindowInfo | None:
        q = self._quartz
        windows = q.CGWindowListCopyWindowInfo(
            q.kCGWindowListOptionOnScreenOnly | q.kCGWindowListExcludeDesktopElements,
            q.kCGNullWindowID)
        owner = frontmost_owner(windows or [])
        if owner is None:
            return NOTHING_FOCUSED
        app, pid = owner
        return WindowInfo(app=app, title=self._title(pid))

    def _title(self, pid: int) -> str:
        ax = self._ax
        if not ax.AXIsProcessTrusted():
            if not self._warned_ax:
                logger.warning("Window titles need the Accessibility permission: System "
                               "Settings → Privacy & Security → Accessibility")
                self._warned_ax = True
            return UNKNOWN
        app = ax.AXUIElementCreateApplication(pid)
        err, window = ax.AXUIElementCopyAttributeValue(app, ax.kAXFocusedWindowAttribute, None)
        if err or window is None:
            return UNKNOWN
        err, title = ax.AXUIElementCopyAttributeValue(window, ax.kAXTitleAttribute, None)
        return str(title) if not err and title is not None else UNKNOWN

    def close(self) -> None:
        pass
