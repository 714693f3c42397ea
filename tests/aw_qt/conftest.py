"""aw_qt tests run Qt on the offscreen platform; subprocess tests pass their own env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from aw_qt.controller import Controller
from aw_qt.server import ServerHandle, ServerMode
from aw_server.serve import Server
from tests.aw_qt.helpers import embedded_server, living_children, quiet_controller


@pytest.fixture(autouse=True)
def _no_orphans() -> Iterator[None]:
    """Every process a test starts is gone when it ends (session fixtures don't count)."""
    before = living_children()
    yield
    assert {pid: cmd for pid, cmd in living_children().items() if pid not in before} == {}


@dataclass
class Device:
    """One aw-qt's view of sync: its embedded server and the Controller over it."""

    name: str
    server: Server
    ctl: Controller

    @property
    def device_id(self) -> str:
        return self.server.store.device_id


@pytest.fixture
def devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Device, Device]]:
    """Two real servers ("alpha", "beta") on loopback, not paired, with no background
    schedule (AWSYNC_INTERVAL=off), so every sync in a test is one the test caused."""
    monkeypatch.setenv("AWSYNC_INTERVAL", "off")
    made = []
    for name in ("alpha", "beta"):
        server = embedded_server(tmp_path / name, name)
        ctl = quiet_controller(tmp_path / name, ServerHandle(ServerMode.EMBEDDED, server.port,
                                                             server))
        ctl.sync.listen, ctl.sync.port = ["127.0.0.1"], 0  # loopback, any free port
        made.append(Device(name, server, ctl))
    yield made[0], made[1]
    for device in made:
        device.ctl.shutdown()
