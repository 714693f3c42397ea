"""One connection to the Wayland compositor, for the backends that speak its protocols.

It lists the globals the compositor offers (that list is how backend choice tells a
wlroots compositor from others), binds what a backend asks for, and waits for events
without busy-waiting: a `select` on the display's socket together with the watcher's
`Stopper` pipe, so a stop request ends a wait at once and an idle session costs no CPU.

pywayland is imported here only, when a connection is opened, so the watchers start on
systems without it.
"""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Callable, Mapping
from typing import Any

from watchers.process import Stopper
from watchers.wayland.protocols import ProtocolFilesMissingError, protocol_module

DEFAULT_DISPLAY = "wayland-0"  # what libwayland connects to when WAYLAND_DISPLAY is unset
INSTALL_HINT = "pip install pywayland (it is a dependency of aw-reimpl on Linux)"


class WaylandUnavailableError(RuntimeError):
    """No usable connection, or the compositor lacks a protocol; the text says which."""


class WaylandGoneError(RuntimeError):
    """The compositor closed the connection (session ended) or reported a protocol error."""


def display_name(environ: Mapping[str, str] | None = None) -> str:
    """The display libwayland will connect to: `WAYLAND_DISPLAY` (a name in
    XDG_RUNTIME_DIR or an absolute socket path), else `wayland-0`."""
    env = os.environ if environ is None else environ
    return env.get("WAYLAND_DISPLAY") or DEFAULT_DISPLAY


def socket_path(environ: Mapping[str, str] | None = None) -> str:
    """Where that display's socket is, for messages ("" when it cannot be known)."""
    env = os.environ if environ is None else environ
    name = display_name(env)
    if os.path.isabs(name):
        return name
    runtime = env.get("XDG_RUNTIME_DIR", "")
    return os.path.join(runtime, name) if runtime else ""


class WaylandConnection:
    """A connected display with its registry read; use `open()`."""

    def __init__(self, display: Any, name: str) -> None:
        self._display = display
        self.name = name
        self._globals: dict[str, tuple[int, int]] = {}  # interface -> (global name, version)
        self._registry = display.get_registry()
        self._registry.dispatcher["global"] = self._on_global
        self._registry.dispatcher["global_remove"] = self._on_global_remove
        self.roundtrip()

    @classmethod
    def open(cls) -> WaylandConnection:
        """Connect as libwayland does, from this process's environment."""
        env = dict(os.environ)
        try:
            from pywayland.client import Display
        except ImportError as exc:
            raise WaylandUnavailableError(f"the pywayland package is missing ({INSTALL_HINT})"
                                          ) from exc
        name = display_name(env)
        if not os.path.isabs(name) and not env.get("XDG_RUNTIME_DIR"):
            raise WaylandUnavailableError(
                f"cannot find the Wayland display {name!r}: XDG_RUNTIME_DIR is not set "
                f"(start the watcher from inside the desktop session)")
        display = Display(name)
        try:
            display.connect()
        except ValueError as exc:
            where = socket_path(env) or name
            raise WaylandUnavailableError(
                f"cannot connect to the Wayland display at {where} (is the compositor "
                f"running, and WAYLAND_DISPLAY that of this session?)") from exc
        return cls(display, name)

    # -- registry ----------------------------------------------------------------------

    def _on_global(self, _registry: Any, name: int, interface: str, version: int) -> None:
        self._globals[interface] = (name, version)

    def _on_global_remove(self, _registry: Any, name: int) -> None:
        for interface, (global_name, _version) in list(self._globals.items()):
            if global_name == name:
                del self._globals[interface]

    @property
    def globals(self) -> dict[str, int]:
        """Every interface the compositor offers, with its version."""
        return {interface: version for interface, (_name, version) in self._globals.items()}

    def bind(self, interface: str, protocol: str, max_version: int) -> tuple[Any, int]:
        """Bind the global `interface` from generated module `protocol` ("wayland" for
        the core protocol) at the highest version both sides know: (proxy, version)."""
        if interface not in self._globals:
            raise WaylandUnavailableError(f"the compositor does not offer {interface}")
        name, offered = self._globals[interface]
        module = _module(protocol)
        cls = getattr(module, _class_name(interface))
        version = min(offered, max_version, cls.version)
        return self._registry.bind(name, cls, version), version

    # -- events ------------------------------------------------------------------------

    def roundtrip(self) -> None:
        """Send what is pending and dispatch every answer to it (blocks briefly)."""
        if self._display.roundtrip() < 0:
            raise WaylandGoneError(self._failure("the compositor closed the connection"))

    def dispatch_pending(self) -> None:
        """Read whatever has arrived and run its callbacks, without ever blocking."""
        self._flush()
        readable, _, _ = select.select([self._display.get_fd()], [], [], 0)
        if readable:
            self._read()
        self._dispatch()

    def wait(self, timeout: float, stopper: Stopper | None) -> bool:
        """Sleep until events arrive (then dispatch them: True), `timeout` s pass or
        `stopper` (if any) is set (False)."""
        self._dispatch()
        self._flush()
        fd = self._display.get_fd()
        if stopper is None:
            select.select([fd], [], [], max(0.0, timeout))
        elif stopper.wait(timeout, extra_fd=fd):
            return False
        readable, _, _ = select.select([fd], [], [], 0)
        if not readable:
            return False
        self._read()
        self._dispatch()
        return True

    def _read(self) -> None:
        try:
            self._display.read()
        except RuntimeError as exc:
            raise WaylandGoneError(self._failure("the compositor closed the connection")
                                   ) from exc

    def _dispatch(self) -> None:
        try:
            self._display.dispatch(block=False)
        except RuntimeError as exc:
            raise WaylandGoneError(self._failure("protocol error")) from exc

    def _flush(self) -> None:
        if self._display.flush() < 0:
            raise WaylandGoneError(self._failure("the compositor closed the connection"))

    def _failure(self, what: str) -> str:
        from pywayland._ffi import lib

        code = 0
        with contextlib.suppress(Exception):
            code = int(lib.wl_display_get_error(self._display._ptr))
        detail = f" ({os.strerror(code)})" if code else ""
        return f"Wayland display {self.name}: {what}{detail}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._display.disconnect()


def decode_strings_with(interface: Any, events: tuple[str, ...],
                        decode: Callable[[bytes], str]) -> None:
    """Have the one-string `events` of a generated `interface` decode their text with
    `decode` instead of pywayland's strict UTF-8.

    Protocol strings are UTF-8, but compositors pass some through unchecked (wlroots
    0.15 hands on an X11 window's Latin-1 WM_NAME as it is); pywayland's strict decode
    then fails inside its callback and the event is lost with a traceback on stderr.
    """
    from pywayland._ffi import ffi
    from pywayland.protocol_core import ArgumentType

    for message in interface.events:
        if message.name not in events:
            continue
        if [a.argument_type for a in message.arguments] != [ArgumentType.String]:
            raise TypeError(f"{interface.name}.{message.name} is not a one-string event")

        def c_to_arguments(c_args: Any) -> list[str | None]:
            pointer = c_args[0].s
            return [None if pointer == ffi.NULL else decode(ffi.string(pointer))]

        message.c_to_arguments = c_to_arguments


def _module(protocol: str) -> Any:
    if protocol == "wayland":
        return __import__("pywayland.protocol.wayland", fromlist=["wayland"])
    try:
        return protocol_module(protocol)
    except ProtocolFilesMissingError as exc:
        raise WaylandUnavailableError(str(exc)) from exc


def _class_name(interface: str) -> str:
    """pywayland's class name for an interface: wl_seat -> WlSeat."""
    return "".join(part.capitalize() for part in interface.split("_"))


def probe_globals() -> dict[str, int]:
    """Connect, list the compositor's globals, disconnect."""
    connection = WaylandConnection.open()
    try:
        return connection.globals
    finally:
        connection.close()
