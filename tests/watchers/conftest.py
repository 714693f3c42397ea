"""Fixtures for the watcher tests: private dirs, a private X session, servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.watchers.fakeserver import FakeServer
from tests.watchers.servers import ServerProcess
from tests.watchers.xsession import XSession, x_tools_missing


@pytest.fixture
def aw_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every ActivityWatch path of this process redirected under tmp_path."""
    base = tmp_path / "aw"
    monkeypatch.setenv("AW_BASE_DIR", str(base))
    monkeypatch.delenv("AW_API_KEY", raising=False)
    return base


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


def _xsession(tmp_path: Path) -> Iterator[XSession]:
    missing = x_tools_missing()
    if missing:
        pytest.skip(f"X test tools missing: {', '.join(missing)}")
    session = XSession(tmp_path).start()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="module")
def xsession(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XSession]:
    """One Xvfb + openbox per test module (cheap to share, expensive to start)."""
    yield from _xsession(tmp_path_factory.mktemp("x"))


@pytest.fixture
def own_xsession(tmp_path: Path) -> Iterator[XSession]:
    """A session of its own, for tests that kill the window manager."""
    yield from _xsession(tmp_path / "x")


@pytest.fixture(params=["fake", "aw_server"])
def server_kind(request: pytest.FixtureRequest) -> str:
    """Integration tests run against the fake and against our real server."""
    return str(request.param)


@pytest.fixture
def preferred_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """Our real server, for the long runs that run once."""
    proc = ServerProcess("aw_server", tmp_path / "server").start()
    yield proc
    proc.stop()


@pytest.fixture
def server(server_kind: str, tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(server_kind, tmp_path / "server").start()
    yield proc
    proc.stop()

