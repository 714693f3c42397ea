"""Wayland focused window: GNOME and KDE through their own D-Bus helpers, else a reason.

Wayland deliberately gives clients no way to see other clients' windows, so:
- GNOME: the "Focused Window D-Bus" shell extension
  (https://extensions.gnome.org/extension/5592/) answers
  `org.gnome.shell.extensions.FocusedWindow.Get` with a JSON object.
- KDE Plasma: we load a small KWin script over D-Bus; it calls our own D-Bus service
  whenever the active window or its caption changes (`workspace.windowActivated` in
  Plasma 6, `clientActivated` in 5).
- Anything else (sway and other wlroots compositors, or GNOME without the extension):
  `open_wayland_backend` raises BackendUnavailableError with one message saying why
  and what would make tracking work; the watcher logs it once and exits.
Not runnable on the CI (no compositor): `parse_gnome_focused` and `KWinState` hold the
logic and are tested; the D-Bus calls use jeepney, imported only here, and are
unverified.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import tempfile
import threading
from typing import Any

from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendUnavailableError,
    PollingMixin,
    WindowInfo,
)

logger = logging.getLogger(__name__)

GNOME_EXTENSION_URL = "https://extensions.gnome.org/extension/5592/focused-window-d-bus/"
KWIN_SERVICE = "org.activitywatch.WindowWatcher"
KWIN_INTERFACE = "org.activitywatch.WindowWatcher"

KWIN_SCRIPT = """
function report(w) {
    callDBus("@SERVICE@", "/", "@IFACE@", "update",
             w ? String(w.caption) : "", w ? String(w.resourceClass) : "");
}
var current = null;
function activated(w) {
    if (current && current.captionChanged) { current.captionChanged.disconnect(onCaption); }
    current = w;
    if (w && w.captionChanged) { w.captionChanged.connect(onCaption); }
    report(w);
}
function onCaption() { report(current); }
if (workspace.windowActivated) {
    workspace.windowActivated.connect(activated);
    activated(workspace.activeWindow);
} else {
    workspace.clientActivated.connect(activated);
    activated(workspace.activeClient);
}
""".replace("@SERVICE@", KWIN_SERVICE).replace("@IFACE@", KWIN_INTERFACE)


def parse_gnome_focused(payload: str) -> WindowInfo:
    """The extension's JSON → WindowInfo; app from `wm_class` as on X11."""
    try:
        data = json.loads(payload)
    except json.JSONDecodeError:
        return NOTHING_FOCUSED
    if not isinstance(data, dict) or not data:
        return NOTHING_FOCUSED
    app = data.get("wm_class") or data.get("wm_class_instance") or UNKNOWN
    title = data.get("title")
    return WindowInfo(app=str(app), title=UNKNOWN if title is None else str(title))


class KWinState:
    """The latest window the KWin script reported; written by the D-Bus thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: WindowInfo | None = None

    def update(self, caption: str, resource_class: str) -> None:
        window = (WindowInfo(app=resource_class or UNKNOWN, title=caption)
                  if caption or resource_class else NOTHING_FOCUSED)
        with self._lock:
            self._window = window

    def current(self) -> WindowInfo | None:
        with self._lock:
            return self._window


def _jeepney() -> tuple[Any, Any]:
    try:
        return importlib.import_module("jeepney"), importlib.import_module("jeepney.io.blocking")
    except ImportError as exc:
        raise BackendUnavailableError("the jeepney package (D-Bus) is not installed") from exc


class GnomeFocusedWindowBackend(PollingMixin):
    name = "gnome-focused-window"

    def __init__(self) -> None:
        self._jp, blocking = _jeepney()
        try:
            self._conn: Any = blocking.open_dbus_connection(bus="SESSION")
        except Exception as exc:
            raise BackendUnavailableError(f"no D-Bus session bus: {exc}") from exc
        self._address = self._jp.DBusAddress(
            "/org/gnome/shell/extensions/FocusedWindow", bus_name="org.gnome.Shell",
            interface="org.gnome.shell.extensions.FocusedWindow")
        try:
            self._call()
        except self._jp.wrappers.DBusErrorResponse as exc:
            if "No window in focus" not in str(exc):
                raise BackendUnavailableError(
                    "GNOME on Wayland needs the 'Focused Window D-Bus' shell extension "
                    f"({GNOME_EXTENSION_URL}): {exc}") from exc

    def _call(self) -> str:
        msg = self._jp.new_method_call(self._address, "Get")
        reply = self._conn.send_and_get_reply(msg, timeout=2.0)
        return str(self._jp.wrappers.unwrap_msg(reply)[0])

    def current_window(self) -> WindowInfo | None:
        try:
            return parse_gnome_focused(self._call())
        except self._jp.wrappers.DBusErrorResponse as exc:
            if "No window in focus" in str(exc):
                return NOTHING_FOCUSED
            logger.debug("FocusedWindow.Get failed: %s", exc)
            return None

    def close(self) -> None:
        self._conn.close()


class KWinScriptBackend(PollingMixin):
    name = "kwin-script"

    def __init__(self) -> None:
        self._jp, blocking = _jeepney()
        self.state = KWinState()
        try:
            self._service: Any = blocking.open_dbus_connection(bus="SESSION")
            self._control: Any = blocking.open_dbus_connection(bus="SESSION")
        except Exception as exc:
            raise BackendUnavailableError(f"no D-Bus session bus: {exc}") from exc
        bus = self._jp.bus_messages.message_bus
        self._service.send_and_get_reply(bus.RequestName(KWIN_SERVICE))
        self._thread = threading.Thread(target=self._serve, name="kwin-dbus", daemon=True)
        self._thread.start()
        with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as script:
            script.write(KWIN_SCRIPT)
            self._script_path = script.name
        scripting = self._jp.DBusAddress("/Scripting", bus_name="org.kde.KWin",
                                         interface="org.kde.kwin.Scripting")
        try:
            reply = self._control.send_and_get_reply(self._jp.new_method_call(
                scripting, "loadScript", "ss", (self._script_path, "aw-watcher-window")))
            script_id = int(self._jp.wrappers.unwrap_msg(reply)[0])
            for path in (f"/Scripting/Script{script_id}", f"/{script_id}"):  # Plasma 6, 5
                runner = self._jp.DBusAddress(path, bus_name="org.kde.KWin",
                                              interface="org.kde.kwin.Script")
                run_reply = self._control.send_and_get_reply(
                    self._jp.new_method_call(runner, "run"))
                if run_reply.header.message_type != self._jp.MessageType.error:
                    break
        except Exception as exc:
            raise BackendUnavailableError(f"KWin refused the window script: {exc}") from exc

    def _serve(self) -> None:
        """Answer the script's `update(caption, class)` calls for the life of the process."""
        jp = self._jp
        while True:
            try:
                msg = self._service.receive()
            except Exception:  # connection closed at shutdown
                return
            header = msg.header
            if header.message_type != jp.MessageType.method_call:
                continue
            if header.fields.get(jp.HeaderFields.member) == "update" and len(msg.body) >= 2:
                self.state.update(str(msg.body[0]), str(msg.body[1]))
            self._service.send(jp.new_method_return(msg))

    def current_window(self) -> WindowInfo | None:
        return self.state.current()

    def close(self) -> None:
        self._service.close()
        self._control.close()
        with contextlib.suppress(OSError):
            os.unlink(self._script_path)


def open_wayland_backend() -> Any:
    """The helper matching the desktop, or one clear reason why tracking is unavailable."""
    desktop = os.environ.get("XDG_CURRENT_DESKTOP", "").lower()
    if "gnome" in desktop:
        return GnomeFocusedWindowBackend()
    if "kde" in desktop or os.environ.get("KDE_FULL_SESSION"):
        return KWinScriptBackend()
    raise BackendUnavailableError(
        f"no supported way to read the focused window on this Wayland desktop "
        f"({desktop or 'unknown'}): Wayland hides other apps' windows; supported are GNOME "
        f"with the Focused Window D-Bus extension and KDE Plasma (KWin script). On wlroots "
        f"compositors (sway, …) use aw-watcher-window-wayland or awatcher instead.")
