"""GNOME (Mutter) idle time: `org.gnome.Mutter.IdleMonitor.GetIdletime` on the session bus.

Mutter implements neither ext-idle-notify nor org_kde_kwin_idle, but its idle monitor
answers "milliseconds since the last input" directly, the same question the X11 and
macOS backends ask their systems, so one call per poll is all it takes. The counter
is Mutter's own: it resets on any real or virtual input the compositor handles.
"""

from __future__ import annotations

from watchers.afk.backends import BackendUnavailableError
from watchers.dbus import DBusCallError, DBusUnavailableError, Endpoint, SessionBus

IDLE_MONITOR = Endpoint("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core",
                        "org.gnome.Mutter.IdleMonitor")


class MutterIdleBackend:
    name = "mutter-idlemonitor"

    def __init__(self) -> None:
        try:
            self._bus = SessionBus.open()
        except DBusUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        try:
            self.seconds_since_input()
        except BackendUnavailableError as exc:
            self._bus.close()
            raise BackendUnavailableError(
                f"Mutter's idle monitor (org.gnome.Mutter.IdleMonitor) does not answer on "
                f"the session bus; is this a GNOME session? ({exc})") from exc

    def seconds_since_input(self) -> float:
        try:
            (idle_ms,) = self._bus.call(IDLE_MONITOR, "GetIdletime")
        except DBusCallError as exc:
            # The shell is gone: the session is over, the watcher should stop.
            raise BackendUnavailableError(f"GetIdletime failed: {exc}") from exc
        return float(idle_ms) / 1000.0

    def close(self) -> None:
        self._bus.close()
