"""Shared fixtures: a real SQLite file, a real waitress server in-process, and the real
`aw-server` command as a subprocess, each on a free 127.0.0.1 port with its own dirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aw_server.config import ServerConfig
from aw_server.datastore.store import Datastore
from aw_server.serve import Server
from tests.support.client import HttpClient
from tests.support.servers import ServerProcess, start_server_process

pytest_plugins = ["tests.support.reference_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the real user's folders."""
    base = tmp_path_factory.mktemp("awbase")
    monkeypatch.setenv("AW_BASE_DIR", str(base))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(base / var.lower()))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Datastore]:
    datastore = Datastore(tmp_path / "test.sqlite")
    yield datastore
    datastore.close()


def make_server(tmp_path: Path, **overrides: object) -> Server:
    config = ServerConfig(testing=True, port=0, dbpath=tmp_path / "server.sqlite",
                          hostname="testhost", **overrides)  # type: ignore[arg-type]
    server = Server(config)
    server.start_in_thread()
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real waitress server in a thread of the test process."""
    srv = make_server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[HttpClient]:
    with HttpClient(server.url) as http:
        yield http


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real `python -m aw_server` command, as a user would start it."""
    proc = start_server_process(tmp_path)
    yield proc
    proc.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI every tool is installed by scripts/test, so a skip means a missing tool
    hid a test: fail the run instead of reporting green."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter is not None:
            reporter.write_line(f"CI: {skipped} test(s) skipped; every test must run here",
                                red=True)


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[list[Datastore]]:
    """Three datastores of their own, for sync and the devices list."""
    stores = [Datastore(tmp_path / f"{name}.sqlite") for name in "abc"]
    yield stores
    for store in stores:
        store.close()
