"""Small D-Bus helpers for the desktop backends (GNOME's extension and Mutter, KWin).

Why jeepney: it is pure Python (no libdbus or GLib bindings to build, nothing extra to
bundle), maintained, and has a plain blocking API we can drive from our own threads.
dbus-fast would also do, but it is built around asyncio and a compiled speed-up, which
buys nothing for a watcher that makes one call a second. jeepney is imported only
inside the functions here, so importing this module costs nothing where D-Bus is not
used.

Every helper owns its own connection: a jeepney blocking connection must not be used
from two threads at once, and a connection that only receives signals (or serves
calls) never has to sort them out from the replies to our own method calls.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

CALL_TIMEOUT = 2.0  # s; a desktop service that takes longer is treated as absent
BUS_DAEMON = "org.freedesktop.DBus"
ERROR_SERVICE_UNKNOWN = "org.freedesktop.DBus.Error.ServiceUnknown"
ERROR_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
ERROR_UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
ERROR_NAME_HAS_NO_OWNER = "org.freedesktop.DBus.Error.NameHasNoOwner"
ERROR_FAILED = "org.freedesktop.DBus.Error.Failed"
REQUEST_NAME_PRIMARY_OWNER = 1
DO_NOT_QUEUE = 4


class DBusUnavailableError(RuntimeError):
    """No usable session bus (or jeepney is missing); the message says which, for the user."""


class DBusNameTakenError(DBusUnavailableError):
    """Another connection owns the well-known name a `DBusService` asked for."""


class DBusCallError(RuntimeError):
    """A method call failed; `name` is the D-Bus error name (or "timeout")."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name

    @property
    def no_such_object(self) -> bool:
        """The service, object or method is not there (as opposed to a failing call)."""
        return self.name in (ERROR_SERVICE_UNKNOWN, ERROR_UNKNOWN_METHOD, ERROR_UNKNOWN_OBJECT,
                             ERROR_NAME_HAS_NO_OWNER)


@dataclass(frozen=True)
class Endpoint:
    """An object of a service: well-known (or unique) name, object path, interface."""

    bus_name: str
    path: str
    interface: str


@dataclass(frozen=True)
class MatchSpec:
    """Which signals a `SignalListener` wants; None means "any"."""

    interface: str | None = None
    member: str | None = None
    path: str | None = None
    sender: str | None = None
    arg0: str | None = None


@dataclass(frozen=True)
class Signal:
    sender: str
    path: str
    interface: str
    member: str
    body: tuple[Any, ...]


def session_bus_address(environ: Mapping[str, str] | None = None) -> str:
    """`DBUS_SESSION_BUS_ADDRESS`, else the systemd-style `$XDG_RUNTIME_DIR/bus` socket.

    Sessions started by systemd often set only XDG_RUNTIME_DIR; GLib and sd-bus use the
    socket there, so we do too rather than report "no session bus" on such desktops.
    """
    env = os.environ if environ is None else environ
    address = env.get("DBUS_SESSION_BUS_ADDRESS", "")
    if address:
        return address
    runtime = env.get("XDG_RUNTIME_DIR", "")
    candidate = os.path.join(runtime, "bus") if runtime else ""
    with contextlib.suppress(OSError):
        if candidate and stat.S_ISSOCK(os.stat(candidate).st_mode):
            return f"unix:path={candidate}"
    raise DBusUnavailableError(
        "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no "
        "$XDG_RUNTIME_DIR/bus (start the watcher from inside the desktop session)")


def _jeepney() -> Any:
    try:
        import jeepney
        import jeepney.io.blocking
    except ImportError as exc:
        raise DBusUnavailableError(
            "the Python package jeepney (D-Bus) is not installed: pip install jeepney"
        ) from exc
    return jeepney


def _connect(address: str | None = None) -> Any:
    jeepney = _jeepney()
    address = address or session_bus_address()
    try:
        return jeepney.io.blocking.open_dbus_connection(address, auth_timeout=CALL_TIMEOUT)
    except (OSError, RuntimeError, ValueError) as exc:
        raise DBusUnavailableError(f"cannot connect to the D-Bus session bus "
                                   f"({address}): {exc}") from exc


def _error_of(jeepney: Any, reply: Any) -> DBusCallError | None:
    if reply.header.message_type != jeepney.MessageType.error:
        return None
    name = str(reply.header.fields.get(jeepney.HeaderFields.error_name, "unknown error"))
    text = str(reply.body[0]) if reply.body and isinstance(reply.body[0], str) else ""
    return DBusCallError(name, text)


class SessionBus:
    """A connection for method calls made from one thread (the watcher's loop)."""

    def __init__(self, connection: Any) -> None:
        self._jeepney = _jeepney()
        self._conn = connection

    @classmethod
    def open(cls, address: str | None = None) -> SessionBus:
        return cls(_connect(address))

    @property
    def unique_name(self) -> str:
        return str(self._conn.unique_name)

    def call(self, endpoint: Endpoint, method: str, signature: str | None = None,
             args: tuple[Any, ...] = (), timeout: float = CALL_TIMEOUT) -> tuple[Any, ...]:
        """The reply's body; DBusCallError for an error reply, a timeout or a lost bus."""
        jeepney = self._jeepney
        address = jeepney.DBusAddress(endpoint.path, bus_name=endpoint.bus_name,
                                      interface=endpoint.interface)
        message = jeepney.new_method_call(address, method, signature, args)
        try:
            reply = self._conn.send_and_get_reply(message, timeout=timeout)
        except TimeoutError as exc:
            raise DBusCallError("timeout", f"{endpoint.bus_name} did not answer "
                                           f"{method} within {timeout:.0f} s") from exc
        except (OSError, ValueError) as exc:  # the bus went away
            raise DBusCallError("disconnected", str(exc)) from exc
        error = _error_of(jeepney, reply)
        if error is not None:
            raise error
        return tuple(reply.body)

    def get_property(self, endpoint: Endpoint, name: str) -> Any:
        properties = Endpoint(endpoint.bus_name, endpoint.path, "org.freedesktop.DBus.Properties")
        _signature, value = self.call(properties, "Get", "ss", (endpoint.interface, name))[0]
        return value

    def name_has_owner(self, name: str) -> bool:
        daemon = Endpoint(BUS_DAEMON, "/org/freedesktop/DBus", BUS_DAEMON)
        return bool(self.call(daemon, "NameHasOwner", "s", (name,))[0])

    def close(self) -> None:
        _close_connection(self._conn)


def _close_connection(conn: Any, reader: threading.Thread | None = None) -> None:
    """Close; with a `reader` thread blocked on the connection, wake and wait for it first.

    Shutting the socket down wakes the reader's poll; closing the poll's descriptor
    before the reader has woken would leave it waiting forever.
    """
    with contextlib.suppress(OSError):
        conn.sock.shutdown(socket.SHUT_RDWR)
    if reader is not None:
        reader.join(timeout=CALL_TIMEOUT)
    with contextlib.suppress(OSError):
        conn.close()


def _match_rule(jeepney: Any, spec: MatchSpec) -> Any:
    rule = jeepney.MatchRule(type="signal", sender=spec.sender, interface=spec.interface,
                             member=spec.member, path=spec.path)
    if spec.arg0 is not None:
        rule.add_arg_condition(0, spec.arg0)
    return rule


class _Receiver:
    """A connection of its own, read by a daemon thread that hands each message of
    `message_type` to `_handle`; the base of the listener and the service below."""

    def __init__(self, address: str | None) -> None:
        self._jeepney = _jeepney()
        self._conn = _connect(address)
        self._closing = False
        self._thread: threading.Thread | None = None

    def _ask_bus(self, method: str, signature: str, args: tuple[Any, ...],
                 refused: str) -> tuple[Any, ...]:
        """A call to the bus daemon while setting up; closes and explains on failure."""
        daemon = Endpoint(BUS_DAEMON, "/org/freedesktop/DBus", BUS_DAEMON)
        try:
            return SessionBus(self._conn).call(daemon, method, signature, args)
        except DBusCallError as exc:
            _close_connection(self._conn)
            raise DBusUnavailableError(f"{refused}: {exc}") from exc

    def _start(self, name: str, message_type: str) -> None:
        wanted = getattr(self._jeepney.MessageType, message_type)
        self._thread = threading.Thread(target=self._run, args=(wanted,), name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self, wanted: Any) -> None:
        fields = self._jeepney.HeaderFields
        while True:
            try:
                message = self._conn.receive()
            except Exception:  # closed by us, or the bus went away; jeepney raises several
                if not self._closing:
                    self._lost()
                return
            header = message.header
            if header.message_type == wanted:
                self._handle(message, *(str(header.fields.get(field, "")) for field in (
                    fields.sender, fields.path, fields.interface, fields.member)))

    def _handle(self, message: Any, sender: str, path: str, interface: str,
                member: str) -> None:
        raise NotImplementedError

    def _lost(self) -> None:
        """The bus went away without `close()`: the session ended."""

    def close(self) -> None:
        self._closing = True
        _close_connection(self._conn, self._thread)


class SignalListener(_Receiver):
    """Receives the signals matching `matches` on a thread and hands each to `on_signal`.

    The callback runs on the listener's thread; keep it short (record, wake the
    watcher). `on_lost` runs once if the bus connection drops (the session ended).
    """

    def __init__(self, matches: list[MatchSpec], on_signal: Callable[[Signal], None],
                 *, on_lost: Callable[[], None] | None = None,
                 address: str | None = None) -> None:
        super().__init__(address)
        self._on_signal = on_signal
        self._on_lost = on_lost
        for spec in matches:
            rule = _match_rule(self._jeepney, spec).serialise()
            self._ask_bus("AddMatch", "s", (rule,), "the session bus refused a signal match")
        self._start("dbus-signals", "signal")

    def _handle(self, message: Any, sender: str, path: str, interface: str,
                member: str) -> None:
        try:
            self._on_signal(Signal(sender, path, interface, member, tuple(message.body)))
        except Exception:
            logger.exception("handling D-Bus signal %s.%s failed", interface, member)

    def _lost(self) -> None:
        if self._on_lost is not None:
            self._on_lost()


MethodHandler = Callable[[str, str, str, tuple[Any, ...]], tuple[str, tuple[Any, ...]] | None]


class DBusService(_Receiver):
    """Owns `bus_name` and answers method calls to it on a thread.

    `handler(path, interface, member, args)` returns `(signature, body)` for the reply,
    or None for an empty reply; raising DBusCallError sends that error back, any other
    exception a generic error (and is logged). Used where a desktop component calls us
    (a KWin script reporting the active window).
    """

    def __init__(self, bus_name: str, handler: MethodHandler, *,
                 address: str | None = None) -> None:
        super().__init__(address)
        self._handler = handler
        (result,) = self._ask_bus("RequestName", "su", (bus_name, DO_NOT_QUEUE),
                                  f"cannot own {bus_name} on the session bus")
        if result != REQUEST_NAME_PRIMARY_OWNER:
            _close_connection(self._conn)
            raise DBusNameTakenError(f"{bus_name} is already owned on the session bus "
                                     "(is another copy running?)")
        self.bus_name = bus_name
        self.unique_name = str(self._conn.unique_name)
        self._start("dbus-service", "method_call")

    def _handle(self, message: Any, sender: str, path: str, interface: str,
                member: str) -> None:
        jeepney = self._jeepney
        try:
            result = self._handler(path, interface, member, tuple(message.body))
        except DBusCallError as exc:
            reply = jeepney.new_error(message, exc.name, "s", (str(exc),))
        except Exception as exc:
            logger.exception("answering D-Bus call %s.%s failed", interface, member)
            reply = jeepney.new_error(message, ERROR_FAILED, "s", (str(exc),))
        else:
            signature, body = result if result is not None else (None, ())
            reply = jeepney.new_method_return(message, signature, body)
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(reply)


class ChangeNotice:
    """Wakes a watcher's `wait()` from another thread and remembers when news first came.

    `mark()` is called by the thread that learnt of a change (a D-Bus signal); the
    watcher selects on `fileno` through `Stopper.wait(..., extra_fd=...)` and then
    `take()`s the wall-clock time (µs) of the first change since the last take, so a
    switch is stamped when it was announced, not when the loop got round to it.
    """

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._lock = threading.Lock()
        self._first_us: int | None = None

    @property
    def fileno(self) -> int:
        return self._read_fd

    def mark(self, at_us: int | None = None) -> None:
        with self._lock:
            if self._first_us is None:
                self._first_us = at_us if at_us is not None else time.time_ns() // 1000
        with contextlib.suppress(OSError):  # pipe full: already awake
            os.write(self._write_fd, b"x")

    def take(self) -> int | None:
        with contextlib.suppress(OSError):
            while os.read(self._read_fd, 512):
                pass
        with self._lock:
            first, self._first_us = self._first_us, None
        return first

    def close(self) -> None:
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
