"""Wayland idle time, chosen at run time from what the compositor offers.

Wayland has no portable "seconds idle" query, so:
1. GNOME (Mutter does not implement ext-idle-notify): D-Bus
   `org.gnome.Mutter.IdleMonitor.GetIdletime` on `/org/gnome/Mutter/IdleMonitor/Core`.
2. KWin, sway and other wlroots compositors: the `ext-idle-notify-v1` protocol via
   pywayland. It is event based (idled/resumed after a timeout we pick), so
   `IdleNotifyTracker` turns those events back into seconds since input, with the
   notification timeout as granularity.
3. Otherwise `org.freedesktop.ScreenSaver.GetSessionIdleTime` (KDE answers it).

Not runnable on the CI (no compositor): the tracker is pure and tested there; the
D-Bus and Wayland calls follow the interfaces' documentation and are unverified.
jeepney (pure-Python D-Bus) and pywayland are imported only here.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from typing import Any

from watchers.afk.backends import BackendUnavailableError, IdleBackend

logger = logging.getLogger(__name__)

NOTIFY_TIMEOUT_MS = 1000


class IdleNotifyTracker:
    """Seconds since input from ext-idle-notify's idled/resumed events.

    After `idled` the last input happened `threshold` seconds before the event; after
    `resumed` (or before any event) the user was active within the last `threshold`
    seconds, which is reported as 0, the same granularity a poll-based counter has.
    """

    def __init__(self, threshold_s: float) -> None:
        self.threshold = threshold_s
        self._idled_at: float | None = None

    def idled(self, now: float) -> None:
        self._idled_at = now

    def resumed(self, now: float) -> None:
        self._idled_at = None

    def seconds_since_input(self, now: float) -> float:
        if self._idled_at is None:
            return 0.0
        return max(0.0, now - self._idled_at) + self.threshold


class _DBusIdle:
    """One D-Bus method returning idle milliseconds (Mutter or freedesktop ScreenSaver)."""

    def __init__(self, name: str, bus_name: str, path: str, interface: str, method: str) -> None:
        try:
            jeepney = importlib.import_module("jeepney")
            blocking = importlib.import_module("jeepney.io.blocking")
        except ImportError as exc:
            raise BackendUnavailableError("the jeepney package (D-Bus) is not installed") from exc
        self.name = name
        self._new_call = jeepney.new_method_call
        self._unwrap = jeepney.wrappers.unwrap_msg
        self._address = jeepney.DBusAddress(path, bus_name=bus_name, interface=interface)
        self._method = method
        try:
            self._conn: Any = blocking.open_dbus_connection(bus="SESSION")
        except Exception as exc:  # jeepney raises plain OSError/KeyError variants
            raise BackendUnavailableError(f"no D-Bus session bus: {exc}") from exc
        self.seconds_since_input()  # fail now, with a reason, if the service is absent

    def seconds_since_input(self) -> float:
        try:
            reply = self._conn.send_and_get_reply(self._new_call(self._address, self._method),
                                                  timeout=2.0)
            body = self._unwrap(reply)
        except Exception as exc:
            raise BackendUnavailableError(f"{self.name}: {exc}") from exc
        return float(body[0]) / 1000.0

    def close(self) -> None:
        self._conn.close()


class ExtIdleNotifyBackend:
    """ext-idle-notify-v1 through pywayland; one roundtrip per poll delivers the events."""

    name = "ext-idle-notify-v1"

    def __init__(self) -> None:
        try:
            display_cls = importlib.import_module("pywayland.client").Display
            notifier_cls = importlib.import_module(
                "pywayland.protocol.ext_idle_notify_v1").ExtIdleNotifierV1
            seat_cls = importlib.import_module("pywayland.protocol.wayland").WlSeat
        except ImportError as exc:
            raise BackendUnavailableError(
                "pywayland with the ext-idle-notify-v1 protocol is not installed") from exc
        self.tracker = IdleNotifyTracker(NOTIFY_TIMEOUT_MS / 1000.0)
        self._display: Any = display_cls()
        try:
            self._display.connect()
        except Exception as exc:
            raise BackendUnavailableError(f"cannot connect to the Wayland display: {exc}") from exc
        found: dict[str, Any] = {}

        def on_global(registry: Any, name: int, interface: str, version: int) -> None:
            if interface == notifier_cls.name:
                found["notifier"] = registry.bind(name, notifier_cls, min(version, 2))
            elif interface == seat_cls.name and "seat" not in found:
                found["seat"] = registry.bind(name, seat_cls, 1)

        registry = self._display.get_registry()
        registry.dispatcher["global"] = on_global
        self._display.roundtrip()
        if "notifier" not in found or "seat" not in found:
            self._display.disconnect()
            raise BackendUnavailableError("the compositor does not offer ext-idle-notify-v1")
        notifier = found["notifier"]
        # Version 2 ignores idle inhibitors (a playing video): AFK is about input.
        if notifier.version >= 2:
            notification = notifier.get_input_idle_notification(NOTIFY_TIMEOUT_MS, found["seat"])
        else:
            notification = notifier.get_idle_notification(NOTIFY_TIMEOUT_MS, found["seat"])
        notification.dispatcher["idled"] = lambda _n: self.tracker.idled(time.monotonic())
        notification.dispatcher["resumed"] = lambda _n: self.tracker.resumed(time.monotonic())
        self._notification = notification
        self._display.roundtrip()

    def seconds_since_input(self) -> float:
        self._display.roundtrip()
        return self.tracker.seconds_since_input(time.monotonic())

    def close(self) -> None:
        self._display.disconnect()


def open_wayland_backend() -> IdleBackend:
    """Try the sources in the order above; the error lists every reason when none works."""
    desktop = os.environ.get("XDG_CURRENT_DESKTOP", "").lower()
    attempts: list[tuple[str, Any]] = [
        ("mutter", lambda: _DBusIdle("mutter-idlemonitor", "org.gnome.Mutter.IdleMonitor",
                                     "/org/gnome/Mutter/IdleMonitor/Core",
                                     "org.gnome.Mutter.IdleMonitor", "GetIdletime")),
        ("ext-idle-notify", ExtIdleNotifyBackend),
        ("screensaver", lambda: _DBusIdle("freedesktop-screensaver", "org.freedesktop.ScreenSaver",
                                          "/org/freedesktop/ScreenSaver",
                                          "org.freedesktop.ScreenSaver", "GetSessionIdleTime")),
    ]
    if "gnome" not in desktop:
        attempts.append(attempts.pop(0))  # Mutter last outside GNOME
    reasons = []
    for label, factory in attempts:
        try:
            backend: IdleBackend = factory()
        except BackendUnavailableError as exc:
            reasons.append(f"{label}: {exc}")
            continue
        logger.info("Wayland idle source: %s", backend.name)
        return backend
    raise BackendUnavailableError("no Wayland idle source works: " + "; ".join(reasons))
