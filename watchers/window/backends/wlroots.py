"""Focused window on wlroots compositors (sway, Hyprland, river, labwc, Wayfire).

These compositors publish every toplevel window to clients that bind
`zwlr_foreign_toplevel_manager_v1` (the protocol taskbars use): one handle per window,
whose `title`, `app_id` and `state` events are applied together at its `done` event,
and a `closed` event when it goes. The focused window is the one whose state holds
`activated`. XWayland windows are toplevels like any other (app id = their X class),
so X11 programs are reported exactly like native ones.

Nothing is polled: the compositor pushes changes, `wait()` sleeps on the socket and
returns when the focused window or its title changed, stamped when that was first
seen. Changes to windows in the background (a terminal's title ticking) wake it but
are not reported as changes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from watchers.process import Stopper
from watchers.wayland.client import (
    WaylandConnection,
    WaylandGoneError,
    WaylandUnavailableError,
    decode_strings_with,
)
from watchers.wayland.protocols import ProtocolFilesMissingError, protocol_module
from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendGoneError,
    BackendUnavailableError,
    WindowInfo,
)
from watchers.window.backends.x11 import decode_string

logger = logging.getLogger(__name__)

MANAGER = "zwlr_foreign_toplevel_manager_v1"
PROTOCOL = "wlr_foreign_toplevel_management_unstable_v1"
MAX_VERSION = 3
ACTIVATED = 2  # the `activated` entry of the handle's state enum
# A focus switch reaches us as "old window deactivated" and "new window activated",
# each with its own `done`; a look in between would see nothing focused. Such a gap
# is waited out for at most this long (s) before "nothing focused" is believed.
SETTLE_MAX = 0.05


@dataclass
class Toplevel:
    """One window as last committed by `done`, plus the changes still pending."""

    title: str | None = None
    app_id: str | None = None
    activated: bool = False
    activated_seq: int = 0
    pending: dict[str, Any] = field(default_factory=dict)

    def window(self) -> WindowInfo:
        return WindowInfo(app=self.app_id or UNKNOWN, title=self.title or UNKNOWN)


class ToplevelTracker:
    """The protocol's state machine, free of any Wayland object so it can be tested alone.

    Keys are whatever identifies a handle (the backend uses the proxy's id). When
    several windows claim `activated` (a compositor with several seats), the one that
    got it last wins.
    """

    def __init__(self) -> None:
        self.toplevels: dict[int, Toplevel] = {}
        self._seq = 0

    def new(self, key: int) -> None:
        self.toplevels[key] = Toplevel()

    def title(self, key: int, title: str) -> None:
        self._pending(key)["title"] = title

    def app_id(self, key: int, app_id: str) -> None:
        self._pending(key)["app_id"] = app_id

    def state(self, key: int, states: list[int]) -> None:
        self._pending(key)["activated"] = ACTIVATED in states

    def _pending(self, key: int) -> dict[str, Any]:
        return self.toplevels.setdefault(key, Toplevel()).pending

    def done(self, key: int) -> None:
        toplevel = self.toplevels.get(key)
        if toplevel is None:
            return
        pending, toplevel.pending = toplevel.pending, {}
        if pending.get("activated") and not toplevel.activated:
            self._seq += 1
            toplevel.activated_seq = self._seq
        for name, value in pending.items():
            setattr(toplevel, name, value)

    def closed(self, key: int) -> None:
        self.toplevels.pop(key, None)

    def focused(self) -> WindowInfo:
        active = [t for t in self.toplevels.values() if t.activated]
        if not active:
            return NOTHING_FOCUSED
        return max(active, key=lambda t: t.activated_seq).window()


def parse_states(raw: bytes | list[int]) -> list[int]:
    """The `state` event's array: native-endian uint32 values (pywayland gives bytes)."""
    if isinstance(raw, list):
        return raw
    usable = len(raw) - len(raw) % 4
    return list(memoryview(raw[:usable]).cast("I"))


class WlrootsWindowBackend:
    name = "wlroots"

    def __init__(self, connection: WaylandConnection | None = None) -> None:
        try:
            self._conn = connection or WaylandConnection.open()
        except WaylandUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        if MANAGER not in self._conn.globals:
            self._conn.close()
            raise BackendUnavailableError(
                f"this Wayland compositor does not offer {MANAGER} (the wlroots protocol "
                f"that lists windows), so the focused window cannot be read")
        self.tracker = ToplevelTracker()
        self._handles: dict[int, Any] = {}
        self._finished = False
        self._reported: WindowInfo | None = None
        self._changed_at: int | None = None
        try:
            # XWayland titles and classes may come as Latin-1: read them as X11 does.
            decode_strings_with(protocol_module(PROTOCOL).ZwlrForeignToplevelHandleV1,
                                ("title", "app_id"), decode_string)
            self._manager, version = self._conn.bind(MANAGER, PROTOCOL, MAX_VERSION)
            self._manager.dispatcher["toplevel"] = self._on_toplevel
            self._manager.dispatcher["finished"] = self._on_finished
            self._conn.roundtrip()  # every window's handle and initial state
        except BaseException as exc:
            # Proxies must go before the display they belong to, or pywayland may crash
            # at exit; close() releases them in that order.
            self._conn.close()
            if isinstance(exc, WaylandUnavailableError | WaylandGoneError
                          | ProtocolFilesMissingError):
                raise BackendUnavailableError(str(exc)) from exc
            raise
        self.name = f"wlroots ({MANAGER} v{version})"

    # -- protocol callbacks (run inside dispatch) -----------------------------------------

    def _on_toplevel(self, _manager: Any, handle: Any) -> None:
        key = id(handle)
        self._handles[key] = handle
        tracker = self.tracker
        tracker.new(key)
        handle.dispatcher["title"] = lambda _h, title: tracker.title(key, title)
        handle.dispatcher["app_id"] = lambda _h, app_id: tracker.app_id(key, app_id)
        handle.dispatcher["state"] = lambda _h, raw: tracker.state(key, parse_states(raw))
        handle.dispatcher["done"] = lambda _h: self._on_done(key)
        handle.dispatcher["closed"] = lambda _h: self._on_closed(key)

    def _on_done(self, key: int) -> None:
        self.tracker.done(key)
        self._note_change()

    def _on_closed(self, key: int) -> None:
        self.tracker.closed(key)
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.destroy()
        self._note_change()

    def _on_finished(self, _manager: Any) -> None:
        self._finished = True

    def _note_change(self) -> None:
        if self._changed_at is None and self.tracker.focused() != self._reported:
            self._changed_at = time.time_ns() // 1000

    # -- WindowBackend ------------------------------------------------------------------

    def _pump(self, timeout: float = 0.0, stopper: Stopper | None = None) -> None:
        """Dispatch what has arrived, first waiting up to `timeout` s for something."""
        try:
            if timeout <= 0:
                self._conn.dispatch_pending()
            else:
                self._conn.wait(timeout, stopper)
        except WaylandGoneError as exc:
            raise BackendGoneError(str(exc)) from exc
        if self._finished:
            raise BackendGoneError("the compositor stopped sending window updates")

    def current_window(self) -> WindowInfo | None:
        self._pump()
        focused = self.tracker.focused()
        if focused == NOTHING_FOCUSED and self._changed_at is not None:
            deadline = time.monotonic() + SETTLE_MAX
            while focused == NOTHING_FOCUSED and time.monotonic() < deadline:
                self._pump(deadline - time.monotonic())
                focused = self.tracker.focused()
        self._reported = focused
        self._changed_at = None
        return focused

    def wait(self, timeout: float, stopper: Stopper) -> int | None:
        deadline = time.monotonic() + timeout
        self._pump()
        while self._changed_at is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stopper.is_set():
                return None
            self._pump(remaining, stopper)
        return self._changed_at

    def close(self) -> None:
        self._conn.close()
