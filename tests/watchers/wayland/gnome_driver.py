"""A D-Bus hand for the GNOME tests, run as the desktop user (the bus admits only them).

One long-lived process, so a focus switch costs one round trip instead of starting
`gdbus` for every step (which would blur the scripted timings). It reads one JSON
command per line on stdin and answers one JSON line on stdout:

    {"call": [bus_name, path, interface, method, signature, [args...]]}
        → {"ok": [body...]} | {"error": "org.freedesktop.DBus.Error...."}
    {"listen": {"interface": ..., "path": ..., "member": ...}}  → {"ok": []}
    {"signals": null}  → {"ok": [[member, body], ...]} (signals seen since the last ask)

Run with `python -m tests.watchers.wayland.gnome_driver`.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from watchers.dbus import DBusCallError, Endpoint, MatchSpec, SessionBus, Signal, SignalListener


def main() -> int:
    bus = SessionBus.open()
    seen: list[list[Any]] = []
    lock = threading.Lock()
    listeners: list[SignalListener] = []

    def record(signal: Signal) -> None:
        with lock:
            seen.append([signal.member, list(signal.body)])

    for line in sys.stdin:
        command = json.loads(line)
        reply: dict[str, Any]
        try:
            if "call" in command:
                name, path, interface, method, signature, args = command["call"]
                body = bus.call(Endpoint(name, path, interface), method, signature or None,
                                tuple(args), timeout=10)
                reply = {"ok": list(body)}
            elif "listen" in command:
                listeners.append(SignalListener([MatchSpec(**command["listen"])], record))
                reply = {"ok": []}
            else:
                with lock:
                    reply = {"ok": list(seen)}
                    seen.clear()
        except DBusCallError as exc:
            reply = {"error": exc.name, "message": str(exc)}
        print(json.dumps(reply), flush=True)
    for listener in listeners:
        listener.close()
    bus.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
