"""GNOME (Mutter) idle time: `org.gnome.Mutter.IdleMonitor.GetIdletime` on the session bus.

Mutter implements neither ext-idle-notify nor org_kde_kwin_idle, but its idle monitor
answers "milliseconds since the last input" directly, the same question the X11 and
macOS backends ask their systems, so one call per poll is all it takes. The counter
is Mutter's own: it resets on any real or virtual input the compositor handles.
"""

from __future__ import annotations

from watchers.afk.backends.dbus_idle import DBusIdleBackend
from watchers.dbus import DBusCallError, Endpoint

IDLE_MONITOR = Endpoint("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core",
                        "org.gnome.Mutter.IdleMonitor")


class MutterIdleBackend(DBusIdleBackend):
    name = "mutter-idlemonitor"
    endpoint = IDLE_MONITOR
    method = "GetIdletime"

    def refusal(self, exc: DBusCallError) -> str:
        return (f"Mutter's idle monitor (org.gnome.Mutter.IdleMonitor) does not answer on "
                f"the session bus; is this a GNOME session? ({self.method} failed: {exc})")
