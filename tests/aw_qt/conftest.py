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
from tests.aw_qt.readme_install import ReadmeInstall, copy_checkout, first_command, pip_cache_dir
from tests.aw_qt.xsession import XSession


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
def devices(tmp_path: Path) -> Iterator[tuple[Device, Device]]:
    """Two real servers ("alpha", "beta") on loopback, not paired, with no background
    schedule (`embedded_server`), so every sync in a test is one the test caused."""
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


@pytest.fixture
def gamma(tmp_path: Path, devices: tuple[Device, Device]) -> Iterator[Device]:
    """A third device beside `devices` (whose fixture turned sync's schedule off)."""
    server = embedded_server(tmp_path / "gamma", "gamma")
    ctl = quiet_controller(tmp_path / "gamma", ServerHandle(ServerMode.EMBEDDED, server.port,
                                                             server))
    ctl.sync.listen, ctl.sync.port = ["127.0.0.1"], 0
    yield Device("gamma", server, ctl)
    ctl.shutdown()


@pytest.fixture(scope="session")
def readme_install(tmp_path_factory: pytest.TempPathFactory) -> ReadmeInstall:
    """A copy of this checkout where README.md's first command runs (its fresh venv is
    made by the first test that runs the command, and kept for the session)."""
    folder = copy_checkout(tmp_path_factory.mktemp("readme") / "checkout")
    return ReadmeInstall(folder, first_command(), pip_cache_dir())


@pytest.fixture
def desktop_session(tmp_path: Path) -> Iterator[XSession]:
    """Xvfb + openbox + a trayer tray, private to the test."""
    session = XSession(tmp_path / "x").start()
    yield session
    session.stop()


@pytest.fixture
def trayless_session(tmp_path: Path) -> Iterator[XSession]:
    """A desktop with no system tray at all (GNOME as shipped)."""
    session = XSession(tmp_path / "x").start(tray=False)
    yield session
    session.stop()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a test's screenshots go (printed, to look at them)."""
    folder = tmp_path / "artifacts"
    folder.mkdir()
    print(f"\nscreenshots: {folder}")
    return folder
