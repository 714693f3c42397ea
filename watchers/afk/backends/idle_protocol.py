"""Idle time from the compositor's idle protocol: sway and other wlroots compositors, KWin.

Wayland has no "seconds since input" query. The compositor can only tell a client
that the user has been idle for a timeout the client chose (`idled`/`idle`) and
that input came again (`resumed`). `ext_idle_notify_v1` is the standard protocol
(KWin 5.27+, sway 1.8+); `org_kde_kwin_idle` is its predecessor, which is all sway
1.7 offers. With a 1 s timeout, `IdleNotifyTracker` turns the two events back into
seconds since input: exact once the user has been idle for 1 s, and within 1 s
before that (so AFK timeouts below 1 s are not meaningful here). Both protocols count
from when we subscribe, so a user already away when the watcher starts is seen as
away one timeout after the start.

The events carry no timestamps, so when they are read matters: a thread blocks on the
Wayland socket and stamps each event the moment it arrives, instead of the AFK
watcher reading them up to one poll late and moving every AFK boundary by that much.
The thread sleeps in `select` and costs nothing while nothing happens.

With ext_idle_notify_v1 version 2 we ask for an "input" idle notification, which
ignores idle inhibitors (a playing video keeps the screen on, but the user is still
away). Version 1 and org_kde_kwin_idle honour inhibitors: there, a fullscreen video
reports the user as present until it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from watchers.afk.backends import BackendUnavailableError
from watchers.process import Stopper
from watchers.wayland.client import WaylandConnection, WaylandGoneError, WaylandUnavailableError

logger = logging.getLogger(__name__)

NOTIFY_TIMEOUT_MS = 1000
EXT_NOTIFIER = "ext_idle_notifier_v1"
KDE_IDLE = "org_kde_kwin_idle"


class IdleNotifyTracker:
    """Seconds since input from idled/resumed events, stamped on a monotonic clock.

    After `idled` the last input was exactly `threshold` seconds before the event.
    Otherwise the last input is only known to lie between the last sure activity (the
    `resumed` event, or the start) and `threshold` seconds ago, since further input
    sends nothing; the idle time reported is the upper end of that range. Reporting 0
    instead would put the last input at "now" on every poll, and when `idled` then
    moved it back by up to `threshold`, the AFK watcher, which never lets the last
    input move backwards, would start the AFK period that much too late.
    """

    def __init__(self, threshold_s: float, started: float) -> None:
        self.threshold = threshold_s
        self._active_at = started
        self._idled_at: float | None = None
        self._lock = threading.Lock()

    def idled(self, now: float) -> None:
        with self._lock:
            self._idled_at = now

    def resumed(self, now: float) -> None:
        with self._lock:
            self._idled_at = None
            self._active_at = now

    def seconds_since_input(self, now: float) -> float:
        with self._lock:
            idled_at, active_at = self._idled_at, self._active_at
        if idled_at is not None:
            return max(0.0, now - idled_at) + self.threshold
        return min(max(0.0, now - active_at), self.threshold)


class ProtocolIdleBackend:
    """ext_idle_notify_v1 where offered, else org_kde_kwin_idle; `name` says which."""

    name = "ext-idle-notify-v1"

    def __init__(self, connection: WaylandConnection | None = None) -> None:
        try:
            self._conn = connection or WaylandConnection.open()
        except WaylandUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        self.tracker = IdleNotifyTracker(NOTIFY_TIMEOUT_MS / 1000.0, time.monotonic())
        self._gone = ""
        self._stop = Stopper()
        try:
            self._notification = self._subscribe()
            self._conn.roundtrip()
        except BaseException as exc:
            self._conn.close()  # proxies before the display, or pywayland may crash at exit
            self._stop.close()
            if isinstance(exc, WaylandUnavailableError | WaylandGoneError):
                raise BackendUnavailableError(str(exc)) from exc
            raise
        self._thread = threading.Thread(target=self._listen, name="wayland-idle", daemon=True)
        self._thread.start()

    def _subscribe(self) -> Any:
        offered = self._conn.globals
        if EXT_NOTIFIER not in offered and KDE_IDLE not in offered:
            raise WaylandUnavailableError(
                f"the compositor offers neither {EXT_NOTIFIER} nor {KDE_IDLE}, so it "
                f"cannot tell how long the user has been idle")
        if "wl_seat" not in offered:
            raise WaylandUnavailableError("the compositor offers no seat (wl_seat)")
        seat, _ = self._conn.bind("wl_seat", "wayland", 1)
        if EXT_NOTIFIER in offered:
            notifier, version = self._conn.bind(EXT_NOTIFIER, "ext_idle_notify_v1", 2)
            if version >= 2:
                notification = notifier.get_input_idle_notification(NOTIFY_TIMEOUT_MS, seat)
            else:
                notification = notifier.get_idle_notification(NOTIFY_TIMEOUT_MS, seat)
            self.name = f"ext-idle-notify-v1 (v{version})"
            notification.dispatcher["idled"] = self._on_idle
            notification.dispatcher["resumed"] = self._on_resumed
        else:
            manager, _ = self._conn.bind(KDE_IDLE, "org_kde_kwin_idle", 1)
            notification = manager.get_idle_timeout(seat, NOTIFY_TIMEOUT_MS)
            self.name = "org-kde-kwin-idle"
            notification.dispatcher["idle"] = self._on_idle
            notification.dispatcher["resumed"] = self._on_resumed
        return notification

    def _on_idle(self, _notification: Any) -> None:
        self.tracker.idled(time.monotonic())

    def _on_resumed(self, _notification: Any) -> None:
        self.tracker.resumed(time.monotonic())

    def _listen(self) -> None:
        """Dispatch the compositor's events as they arrive, until closed or gone."""
        while not self._stop.is_set():
            try:
                self._conn.wait(3600.0, self._stop)
            except WaylandGoneError as exc:
                self._gone = str(exc)
                return

    def seconds_since_input(self) -> float:
        if self._gone:
            raise BackendUnavailableError(self._gone)
        return self.tracker.seconds_since_input(time.monotonic())

    def close(self) -> None:
        self._stop.stop("closing")
        self._thread.join(5)
        self._conn.close()
        self._stop.close()
