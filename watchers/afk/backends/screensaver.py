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

from watchers.afk.backends.dbus_idle import DBusIdleBackend
from watchers.dbus import DBusCallError, Endpoint


class ScreenSaverIdleBackend(DBusIdleBackend):
    name = "freedesktop-screensaver"
    endpoint = Endpoint("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver",
                        "org.freedesktop.ScreenSaver")
    method = "GetSessionIdleTime"

    def refusal(self, exc: DBusCallError) -> str:
        if exc.no_such_object:
            return (f"nothing on the session bus answers {self.endpoint.bus_name} "
                    f"({exc.name})")
        return f"{self.endpoint.bus_name} refuses {self.method}: {exc}"
