"""Finding ActivityWatch's databases in their standard places, and pointing at them
(never importing them) when a server starts on an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest

from aw_server.transfer.finding import find_activitywatch_databases, open_source
from tests.aw_server.transfer.activitywatch_files import rust_db


def test_standard_places_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AW_BASE_DIR", str(tmp_path))
    assert find_activitywatch_databases() == []
    peewee = tmp_path / "data" / "aw-server" / "peewee-sqlite.v2.db"
    peewee.parent.mkdir(parents=True)
    peewee.write_bytes(b"x")
    rust = tmp_path / "data" / "aw-server-rust" / "sqlite.db"
    rust.parent.mkdir(parents=True)
    rust_db(rust, 5)
    assert find_activitywatch_databases() == [rust, peewee]
    assert open_source(rust).kind == "aw-server-rust"


def test_server_start_points_at_an_activitywatch_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import make_server

    monkeypatch.setenv("AW_BASE_DIR", str(tmp_path / "base"))
    rust = tmp_path / "base" / "data" / "aw-server-rust" / "sqlite-testing.db"
    rust.parent.mkdir(parents=True)
    rust_db(rust, 5)
    with caplog.at_level("INFO"):
        server = make_server(tmp_path)
    try:
        assert server.found_databases == [rust]
        assert f"import it with `aw-server import {rust}`" in caplog.text
        assert server.store.buckets.ids() == []  # never imported without consent
    finally:
        server.stop()
