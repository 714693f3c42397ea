"""Idle time from `org.freedesktop.ScreenSaver.GetSessionIdleTime`, the last resort.

Used on Wayland only after the compositor's idle protocols (`idle_protocol.py`), for
desktops that offer neither protocol but answer this call. What answers it, as found
by running it:
- Plasma on X11 answers through its screen locker (kscreenlocker), in milliseconds;
  the X11 watcher does not need it there.
- Plasma on Wayland: the screen locker lives inside kwin_wayland, which owns the name
  but refuses the call (`org.freedesktop.DBus.Error.NotSupported`, "GetSessionIdleTime
  is not supported on this platform"); KWin's idle protocols serve instead.
- Without a screen locker (kwin_wayland --no-lockscreen) nobody owns the name.
So the backend asks once at start and refuses, with the desktop's own answer as the
reason, when the call does not work; the dispatcher then reports every source's reason.
The unit is milliseconds, as the KDE implementation returns (the specification's text
says seconds, but no implementation we could run follows it).
"""

from __future__ import annotations

from watchers.afk.backends import BackendUnavailableError
from watchers.dbus import DBusCallError, DBusUnavailableError, Endpoint, SessionBus

SCREENSAVER = Endpoint("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver",
                       "org.freedesktop.ScreenSaver")


class ScreenSaverIdleBackend:
    name = "freedesktop-screensaver"

    def __init__(self) -> None:
        try:
            self._bus = SessionBus.open()
        except DBusUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        try:
            self._idle_ms()
        except DBusCallError as exc:
            self._bus.close()
            raise BackendUnavailableError(self._refusal(exc)) from exc

    def _refusal(self, exc: DBusCallError) -> str:
        if exc.no_such_object:
            return f"nothing on the session bus answers {SCREENSAVER.bus_name} ({exc.name})"
        return f"{SCREENSAVER.bus_name} refuses GetSessionIdleTime: {exc}"

    def _idle_ms(self) -> float:
        (idle_ms,) = self._bus.call(SCREENSAVER, "GetSessionIdleTime")
        return float(idle_ms)

    def seconds_since_input(self) -> float:
        try:
            return self._idle_ms() / 1000.0
        except DBusCallError as exc:
            # It answered at start; failing now means the desktop session is going away.
            raise BackendUnavailableError(f"GetSessionIdleTime failed: {exc}") from exc

    def close(self) -> None:
        self._bus.close()
