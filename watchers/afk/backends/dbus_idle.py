"""Idle time from one D-Bus method that answers "milliseconds since the last input".

Mutter's idle monitor and the freedesktop ScreenSaver service both work this way: one
call per poll, nothing to subscribe to. The call is made once at start, so a desktop
that lacks the service (or refuses the call) is reported with its own answer before
the watcher runs, and the dispatcher can try the next source.
"""

from __future__ import annotations

from watchers.afk.backends import BackendUnavailableError
from watchers.dbus import DBusCallError, DBusUnavailableError, Endpoint, SessionBus


class DBusIdleBackend:
    """A subclass names the service: `name`, `endpoint`, `method`, and `refusal()`."""

    name = ""
    endpoint: Endpoint
    method = ""

    def __init__(self) -> None:
        try:
            self._bus = SessionBus.open()
        except DBusUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        try:
            self._idle_ms()
        except DBusCallError as exc:
            self._bus.close()
            raise BackendUnavailableError(self.refusal(exc)) from exc

    def refusal(self, exc: DBusCallError) -> str:
        """Why this source cannot be used, for the user, from the failed first call."""
        return f"{self.endpoint.bus_name} does not answer {self.method}: {exc}"

    def _idle_ms(self) -> float:
        (idle_ms,) = self._bus.call(self.endpoint, self.method)
        return float(idle_ms)

    def seconds_since_input(self) -> float:
        try:
            return self._idle_ms() / 1000.0
        except DBusCallError as exc:
            # It answered at start: failing now means the desktop session is ending.
            raise BackendUnavailableError(f"{self.method} failed: {exc}") from exc

    def close(self) -> None:
        self._bus.close()
