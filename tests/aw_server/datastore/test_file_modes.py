"""The database holds the user's activity and the device's pairing and signing keys: it,
its WAL and shared-memory files and its folder are the user's alone (0600 / 0700), when
created and, fixed with a log line, when found looser."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from aw_server.config import ServerConfig
from aw_server.datastore.store import Datastore
from aw_server.models import Bucket, Event
from aw_server.serve import Server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_something(store: Datastore) -> None:
    store.buckets.create(Bucket("b", "t", "c", "h", "2024-01-01T00:00:00+00:00"))
    store.events.insert("b", [Event(1_700_000_000_000_000, 0, {"k": 1})])


def test_new_database_and_folder_are_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    db = tmp_path / "new" / "folder" / "aw.sqlite"
    old = os.umask(0o002)
    try:
        store = Datastore(db)
        write_something(store)
        names = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in names)
        assert [mode(p) for p in names] == [0o600, 0o600, 0o600]
        assert mode(db.parent) == 0o700
        store.close()
    finally:
        os.umask(old)


def test_looser_files_are_tightened_at_start_and_said_so(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "aw.sqlite"
    store = Datastore(db)
    write_something(store)
    store.close()
    sidecar = Path(f"{db}.sync-log")
    sidecar.write_text("{}", encoding="utf-8")
    for path in (db, sidecar):
        path.chmod(0o644)
    tmp_path.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        Datastore(db).close()
    assert mode(db) == 0o600 and mode(sidecar) == 0o600
    assert mode(tmp_path) == 0o755  # a --dbpath folder the user chose is left as it is
    assert sum("was readable by other users" in r.getMessage() for r in caplog.records) == 2


def test_the_default_data_folder_is_kept_private(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """`_isolated_dirs` points the data folder into tmp_path (AW_BASE_DIR)."""
    config = ServerConfig(testing=True, port=0, hostname="h")
    folder = config.database_path().parent
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        server = Server(config)
    try:
        assert mode(folder) == 0o700 and mode(config.database_path()) == 0o600
        assert any(str(folder) in r.getMessage() for r in caplog.records)
    finally:
        server.stop()
