"""watchers/dbus.py against a real, private dbus-daemon (this process is its only user)."""

from __future__ import annotations

import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.watchers.helpers import wait_until
from watchers.dbus import (
    ChangeNotice,
    DBusCallError,
    DBusNameTakenError,
    DBusService,
    DBusUnavailableError,
    Endpoint,
    MatchSpec,
    SessionBus,
    Signal,
    SignalListener,
    session_bus_address,
)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    if shutil.which("dbus-daemon") is None:
        pytest.fail("dbus-daemon is missing (scripts/test installs it: apt-get install "
                    "dbus-daemon)")
    socket = tmp_path / "bus"
    proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                             f"--address=unix:path={socket}"], stdout=subprocess.DEVNULL)
    try:
        wait_until(socket.exists, "the bus socket")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def bus(daemon: subprocess.Popen[bytes], tmp_path: Path) -> str:
    return f"unix:path={tmp_path / 'bus'}"


def echo(path: str, interface: str, member: str, args: tuple[Any, ...]
         ) -> tuple[str, tuple[Any, ...]] | None:
    if member == "Echo":
        return "s", (f"{path} {interface} {args[0]}",)
    if member == "Fail":
        raise DBusCallError("org.example.Error.Refused", "no")
    if member == "Crash":
        raise ValueError("bug")
    return None


def test_calls_reach_a_served_name_and_errors_keep_their_d_bus_name(bus: str) -> None:
    service = DBusService("org.example.Echo", echo, address=bus)
    client = SessionBus.open(bus)
    try:
        target = Endpoint("org.example.Echo", "/thing", "org.example.Echo")
        assert client.call(target, "Echo", "s", ("hi",)) == ("/thing org.example.Echo hi",)
        assert client.call(target, "Nothing") == ()
        with pytest.raises(DBusCallError) as refused:
            client.call(target, "Fail")
        assert refused.value.name == "org.example.Error.Refused"
        with pytest.raises(DBusCallError) as crashed:
            client.call(target, "Crash")
        assert "bug" in str(crashed.value)
        assert client.name_has_owner("org.example.Echo")
        with pytest.raises(DBusCallError) as absent:
            client.call(Endpoint("org.example.Absent", "/", "org.example.Absent"), "Echo")
        assert absent.value.no_such_object
    finally:
        client.close()
        service.close()


def test_a_taken_name_is_refused_and_freed_on_close(bus: str) -> None:
    first = DBusService("org.example.Once", echo, address=bus)
    with pytest.raises(DBusNameTakenError):
        DBusService("org.example.Once", echo, address=bus)
    first.close()
    client = SessionBus.open(bus)
    try:
        wait_until(lambda: not client.name_has_owner("org.example.Once"), "the name to go")
    finally:
        client.close()
    DBusService("org.example.Once", echo, address=bus).close()


def test_listener_gets_matching_signals_only_and_notices_wake_a_select(bus: str) -> None:
    import jeepney

    notice = ChangeNotice()
    seen: list[Signal] = []

    def on_signal(signal: Signal) -> None:
        seen.append(signal)
        notice.mark()

    listener = SignalListener([MatchSpec(interface="org.example.Watched")], on_signal,
                              address=bus)
    sender = jeepney.io.blocking.open_dbus_connection(bus)
    try:
        before = time.time_ns() // 1000
        for interface in ("org.example.Other", "org.example.Watched"):
            emitter = jeepney.DBusAddress("/emitter", interface=interface)
            sender.send(jeepney.new_signal(emitter, "Changed", "a{ss}", ({"title": "x"},)))
        wait_until(lambda: seen, "the signal")
        time.sleep(0.1)
        assert [(s.interface, s.member, s.body) for s in seen] == \
            [("org.example.Watched", "Changed", ({"title": "x"},))]
        assert select.select([notice.fileno], [], [], 1)[0] == [notice.fileno]
        stamp = notice.take()
        assert stamp is not None and before <= stamp <= time.time_ns() // 1000
        assert notice.take() is None
        assert select.select([notice.fileno], [], [], 0)[0] == []
    finally:
        sender.close()
        listener.close()
        notice.close()


def test_listener_reports_a_lost_bus_once(bus: str, daemon: subprocess.Popen[bytes]) -> None:
    lost: list[bool] = []
    listener = SignalListener([MatchSpec(interface="org.example.X")], lambda _s: None,
                              on_lost=lambda: lost.append(True), address=bus)
    daemon.terminate()  # the session ends
    wait_until(lambda: lost, "the loss to be reported")
    listener.close()
    assert lost == [True]


def test_session_address_falls_back_to_the_runtime_dir_socket(tmp_path: Path) -> None:
    assert session_bus_address({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}) == "unix:path=/x"
    with pytest.raises(DBusUnavailableError, match="no D-Bus session bus"):
        session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)})
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "bus"))
        assert session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)}) == \
            f"unix:path={tmp_path / 'bus'}"


def test_no_bus_at_the_address_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DBusUnavailableError, match="cannot connect to the D-Bus session bus"):
        SessionBus.open(f"unix:path={tmp_path / 'nothing'}")
