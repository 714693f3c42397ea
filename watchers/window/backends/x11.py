"""X11 focused window via python-xlib on one persistent connection.

Reads the root's `_NET_ACTIVE_WINDOW` (EWMH), the title from `_NET_WM_NAME`
(UTF8_STRING) else `WM_NAME` (STRING, UTF8_STRING or COMPOUND_TEXT), and the app from
`WM_CLASS` (its class part, as ActivityWatch). Facts this relies on, measured on
Xvfb with the openbox window manager (the tests' session):
- during a focus switch the WM briefly sets `_NET_ACTIVE_WINDOW` to 0, then the new
  window; on a loaded machine the gap can last far longer than the usual milliseconds,
  so a 0 read right after a window is only believed once it has lasted `ZERO_GRACE`
  (else a spurious "unknown" event lands between the two windows);
- a window can close between two reads → BadWindow → read again, else skip the poll;
- with no EWMH window manager (none yet, or it is restarting) the property is absent
  → fall back to the X input focus, which still names the right client window.
The root and the active window are watched for PropertyNotify, so a focus or title
change wakes the watcher within milliseconds instead of at the next poll; that is what
keeps per-app totals accurate to well under a poll interval.
"""

from __future__ import annotations

import logging
import select
import time
from typing import Any

from watchers.process import Stopper
from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendGoneError,
    BackendUnavailableError,
    WindowInfo,
)
from watchers.window.backends.ctext import decode_compound_text

logger = logging.getLogger(__name__)

_MAX_PARENT_STEPS = 4
_RETRIES = 3
SETTLE_QUIET = 0.03  # s without further changes that ends a burst
SETTLE_MAX = 0.25  # s at most spent settling
ZERO_GRACE = 0.5  # s "no active window" must last, after a window, to be recorded


class X11WindowBackend:
    name = "x11"

    def __init__(self, display_name: str | None = None) -> None:
        try:
            from Xlib import X, Xatom
            from Xlib import error as xerror

            from watchers.x11display import open_display
        except ImportError as exc:
            raise BackendUnavailableError("python-xlib is not installed") from exc
        self._X: Any = X
        self._errors: Any = xerror
        try:
            # The core protocol is all this backend speaks: no X extension is loaded.
            self._display: Any = open_display(display_name, ())
        except (xerror.DisplayError, OSError) as exc:
            raise BackendUnavailableError(f"cannot open X display: {exc}") from exc
        d = self._display
        self._root = d.screen().root
        self._net_active = d.intern_atom("_NET_ACTIVE_WINDOW")
        self._net_wm_name = d.intern_atom("_NET_WM_NAME")
        self._ctext = d.intern_atom("COMPOUND_TEXT")
        self._wm_name = Xatom.WM_NAME
        self._wm_class = Xatom.WM_CLASS
        self._title_atoms = {self._net_wm_name, self._wm_name, self._wm_class}
        self._root.change_attributes(event_mask=X.PropertyChangeMask)
        self._watched: int | None = None
        self._had_window = False  # the last read named a window
        self._warned_no_wm = False

    # -- reading ---------------------------------------------------------------------

    def current_window(self) -> WindowInfo | None:
        for _ in range(_RETRIES):
            try:
                return self._read()
            except self._errors.ConnectionClosedError as exc:
                raise BackendGoneError(f"X server closed the connection: {exc}") from exc
            except self._errors.XError as exc:
                # The window went away between two requests; the next read sees the new one.
                logger.debug("X error while reading the active window: %s", exc)
        return None

    def _read(self) -> WindowInfo:
        window = self._active_window()
        if window is None and self._had_window:
            window = self._next_window_within_grace()
        self._had_window = window is not None
        if window is None:
            return NOTHING_FOCUSED
        self._watch(window)
        return WindowInfo(app=self._app(window), title=self._title(window))

    def _active_window(self) -> Any | None:
        prop = self._root.get_full_property(self._net_active, self._X.AnyPropertyType)
        if prop is not None:
            if self._warned_no_wm:
                logger.info("EWMH window manager is back")
                self._warned_no_wm = False
            wid = int(prop.value[0]) if len(prop.value) else 0
            if wid == 0:
                return None
            return self._display.create_resource_object("window", wid)
        if not self._warned_no_wm:
            logger.warning("No EWMH window manager (_NET_ACTIVE_WINDOW missing); "
                           "using the X input focus until one is running")
            self._warned_no_wm = True
        focus = self._display.get_input_focus().focus
        if isinstance(focus, int) or focus == self._root:
            return None  # PointerRoot or None
        return self._client_window(focus)

    def _next_window_within_grace(self) -> Any | None:
        """After a window, a 0 is usually the middle of a switch: wait for the next one.

        Each root change within `ZERO_GRACE` is read again; a window ends the wait. A
        real "nothing focused" (the desktop clicked, the last window closed) is reported
        `ZERO_GRACE` later, and the watcher still stamps it when the change was seen.
        """
        deadline = time.monotonic() + ZERO_GRACE
        fd = self._display.fileno()
        while True:
            if self._drain():
                window = self._active_window()
                if window is not None:
                    return window
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            select.select([fd], [], [], remaining)

    def _client_window(self, window: Any) -> Any | None:
        """The input focus may sit on a child; climb to the window that has WM_CLASS."""
        for _ in range(_MAX_PARENT_STEPS):
            if window.get_wm_class() is not None:
                return window
            parent = window.query_tree().parent
            if not parent or parent == self._root:
                return window
            window = parent
        return window

    def _app(self, window: Any) -> str:
        for _ in range(_MAX_PARENT_STEPS):
            cls = window.get_wm_class()
            if cls:
                return str(cls[1])
            parent = window.query_tree().parent
            if not parent or parent == self._root:
                break
            window = parent
        return UNKNOWN

    def _title(self, window: Any) -> str:
        # _NET_WM_NAME is UTF-8 by spec; read it whatever type it was set with, because
        # some tools (xdotool) store it as STRING while still writing UTF-8 bytes.
        prop = window.get_full_property(self._net_wm_name, self._X.AnyPropertyType)
        if prop is not None and prop.format == 8 and len(prop.value):
            return _to_bytes(prop.value).decode("utf-8", errors="replace")
        prop = window.get_full_property(self._wm_name, self._X.AnyPropertyType)
        if prop is None or prop.format != 8:
            return UNKNOWN
        raw = _to_bytes(prop.value)
        if prop.property_type == self._ctext:
            return decode_compound_text(raw)
        return decode_string(raw)

    def _watch(self, window: Any) -> None:
        """Subscribe to the active window's property changes (title) once per window."""
        if window.id == self._watched:
            return
        window.change_attributes(event_mask=self._X.PropertyChangeMask,
                                 onerror=lambda *_args: None)
        self._watched = window.id

    # -- waiting ---------------------------------------------------------------------

    def wait(self, timeout: float, stopper: Stopper) -> int | None:
        """Sleep until `timeout`, a stop request, or a focus/title change.

        Returns when the change was first seen (wall-clock µs), so the switch is stamped
        at that moment rather than after the settling below.

        Other property changes (the WM updates its stacking list on every switch)
        wake the select too; those are drained and the wait goes on. After a change the
        wait lingers until the burst is over, because a switch first sets
        `_NET_ACTIVE_WINDOW` to 0 and then, milliseconds later, to the new window:
        polling in between would record a spurious "unknown".
        """
        deadline = time.monotonic() + timeout
        fd = self._display.fileno()
        while True:
            if self._drain():
                seen = time.time_ns() // 1000
                settle_end = time.monotonic() + SETTLE_MAX
                while time.monotonic() < settle_end:
                    if stopper.wait(SETTLE_QUIET, extra_fd=fd) or not self._drain():
                        break
                return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stopper.wait(remaining, extra_fd=fd):
                return time.time_ns() // 1000 if self._drain() else None

    def _drain(self) -> bool:
        changed = False
        try:
            while self._display.pending_events():
                event = self._display.next_event()
                if event.type != self._X.PropertyNotify:
                    continue
                on_root = event.window == self._root and event.atom == self._net_active
                on_active = event.atom in self._title_atoms and event.window.id == self._watched
                changed = changed or on_root or on_active
        except self._errors.ConnectionClosedError as exc:
            raise BackendGoneError(f"X server closed the connection: {exc}") from exc
        return changed

    def close(self) -> None:
        try:
            self._display.close()
        except Exception:  # closing a dead connection must not mask the real error
            logger.debug("error closing the X display", exc_info=True)


def decode_string(raw: bytes) -> str:
    """WM_NAME of type STRING: ISO 8859-1 by definition, but many programs write UTF-8.

    Latin-1 text with accented letters is almost never valid UTF-8, so trying UTF-8
    first and falling back to Latin-1 reads both kinds correctly.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1", errors="replace")
    return bytes(value)
