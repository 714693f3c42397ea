"""GNOME on Wayland: the focused window from the project's own GNOME Shell extension.

Mutter gives other clients no way to see windows, and `org.gnome.Shell.Eval` is locked
since GNOME 41, so a small extension (resources/gnome-shell-extension/) runs inside the
shell and publishes the focused window on the session bus. It pushes a D-Bus signal
whenever the focus or the focused window's title changes; this backend keeps the
latest one and wakes the watcher, which then stamps the switch with the moment the
signal arrived. One `Get` call at start gives the initial state. Nothing is polled.

When the extension is not there, the backend refuses to start with one message saying
how to install it (exit 3); aw-qt turns that into its install offer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from watchers.dbus import (
    BUS_DAEMON,
    ChangeNotice,
    DBusCallError,
    DBusUnavailableError,
    Endpoint,
    MatchSpec,
    SessionBus,
    Signal,
    SignalListener,
)
from watchers.process import Stopper
from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendGoneError,
    BackendUnavailableError,
    WindowInfo,
)

logger = logging.getLogger(__name__)

EXTENSION_UUID = "focused-window@aw-reimpl.github.io"
EXTENSION = Endpoint("io.github.aw_reimpl.FocusedWindow", "/io/github/aw_reimpl/FocusedWindow",
                     "io.github.aw_reimpl.FocusedWindow")
SHELL_EXTENSIONS = Endpoint("org.gnome.Shell", "/org/gnome/Shell",
                            "org.gnome.Shell.Extensions")
INSTALL_HINT = (
    f"GNOME needs the small '{EXTENSION_UUID}' shell extension to tell which window has "
    f"the focus. Install it from aw-qt's offer, or run `aw-qt --install-gnome-extension`, "
    f"then log out and back in (needed on GNOME before 46)")
EXTENSION_STATES = {1: "enabled", 2: "disabled", 3: "failed to load", 4: "out of date for "
                    "this GNOME version", 6: "installed but not enabled"}


def window_from_extension(window: Mapping[str, str]) -> WindowInfo:
    """The extension's `a{ss}` → WindowInfo: app from WM_CLASS as on X11, else the app id.

    For Wayland-native windows Mutter's WM_CLASS is the client's xdg app id ("foot",
    "org.gnome.Nautilus"), for XWayland ones the X11 class, so an app is named the same
    way it is on an X11 session.
    """
    if not window:
        return NOTHING_FOCUSED
    app = window.get("wm_class") or window.get("app_id") or window.get("wm_class_instance")
    return WindowInfo(app=app or UNKNOWN, title=window.get("title", ""))


def extension_problem(bus: SessionBus) -> str:
    """Why the extension is not answering, in the user's terms, from the shell's own view."""
    try:
        info = bus.call(SHELL_EXTENSIONS, "GetExtensionInfo", "s", (EXTENSION_UUID,))[0]
    except DBusCallError as exc:
        if exc.no_such_object:
            return "GNOME Shell is not running on this session bus"
        return f"GNOME Shell did not answer ({exc})"
    state = info.get("state", ("d", 0))[1] if info else 0
    if not info:
        return f"the extension is not installed. {INSTALL_HINT}"
    if int(state) == 1:
        return ("the extension is enabled but not running yet (it was installed after this "
                "login): log out and back in")
    described = EXTENSION_STATES.get(int(state), f"in state {state}")
    error = info.get("error", ("s", ""))[1]
    detail = f": {error}" if error else ""
    return (f"the extension is {described}{detail}. Enable it with "
            f"`gnome-extensions enable {EXTENSION_UUID}` or from aw-qt's offer")


class GnomeWindowBackend:
    name = "gnome-shell-extension"

    def __init__(self) -> None:
        try:
            self._bus = SessionBus.open()
        except DBusUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        self._lock = threading.Lock()
        self._window: WindowInfo | None = None
        self._present = True
        self._lost = False
        self.notice = ChangeNotice()
        try:
            # Listen first, then read: a change between the two is not lost.
            self._listener = SignalListener(
                [MatchSpec(interface=EXTENSION.interface, path=EXTENSION.path),
                 MatchSpec(sender=BUS_DAEMON, interface=BUS_DAEMON,
                           member="NameOwnerChanged", arg0=EXTENSION.bus_name)],
                self._on_signal, on_lost=self._on_lost)
        except DBusUnavailableError as exc:
            self._bus.close()
            raise BackendUnavailableError(str(exc)) from exc
        try:
            self._store(self._get())
        except DBusCallError as exc:
            reason = extension_problem(self._bus) if exc.no_such_object else str(exc)
            self.close()
            raise BackendUnavailableError(reason) from exc

    def _get(self) -> Mapping[str, str]:
        result: Mapping[str, str] = self._bus.call(EXTENSION, "Get")[0]
        return result

    def _store(self, window: Mapping[str, str]) -> None:
        with self._lock:
            self._window = window_from_extension(window)

    def _on_signal(self, signal: Signal) -> None:
        if signal.member == "NameOwnerChanged":
            self._owner_changed(str(signal.body[2]))
        elif signal.member in ("FocusChanged", "TitleChanged") and signal.body:
            self._store(signal.body[0])
        else:
            return
        self.notice.mark()

    def _owner_changed(self, new_owner: str) -> None:
        """The extension was disabled (or the shell restarted): stop reporting until it
        is back, then read its state again; guessing meanwhile would invent time."""
        with self._lock:
            self._present = bool(new_owner)
            self._window = None
        if new_owner:
            logger.info("the GNOME Shell extension is back")
        else:
            logger.warning("the GNOME Shell extension stopped (disabled?); no window "
                           "events until it is enabled again")

    def _on_lost(self) -> None:
        with self._lock:
            self._lost = True
        self.notice.mark()

    def current_window(self) -> WindowInfo | None:
        with self._lock:
            if self._lost:
                raise BackendGoneError("the D-Bus session bus closed (the session ended)")
            window, present = self._window, self._present
        if window is None and present:
            try:  # after a restart of the extension: its first signal may not come soon
                self._store(self._get())
            except DBusCallError as exc:
                logger.debug("Get failed: %s", exc)
                return None
            with self._lock:
                window = self._window
        return window

    def wait(self, timeout: float, stopper: Stopper) -> int | None:
        stopper.wait(timeout, extra_fd=self.notice.fileno)
        return self.notice.take()

    def close(self) -> None:
        listener: Any = getattr(self, "_listener", None)
        if listener is not None:
            listener.close()
        self._bus.close()
        self.notice.close()
