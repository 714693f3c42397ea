"""aw-qt upgrades an older database before its server starts, on a thread whose
progress it can show, and can stop it half-way without losing anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aw_qt.upgrade import DataUpgrade, pending_upgrade
from aw_server.config import load_config
from aw_server.datastore.migrate_interning import BATCH_ROWS, PROGRESS_KEY
from aw_server.datastore.schema import SCHEMA_VERSION
from aw_server.datastore.store import Datastore
from aw_server.file_lock import database_lock
from tests.aw_qt.helpers import embedded_server
from tests.aw_server.datastore.test_upgrade import user_version, v5_file
from tests.support.servers import free_port

WAIT_S = 120


def test_an_upgrade_runs_on_its_thread_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    kept = v5_file(path, BATCH_ROWS + 10)
    upgrade = DataUpgrade(path)
    assert upgrade.fraction == 0.0
    assert upgrade.text().startswith("Upgrading your data for this version of ActivityWatch. ")
    upgrade.start()
    assert upgrade.finished.wait(WAIT_S)
    assert upgrade.error is None
    assert upgrade.fraction == 1.0
    assert f"100 % ({kept:,} of {kept:,} events)" in upgrade.text()
    assert user_version(path) == SCHEMA_VERSION


def test_quitting_stops_after_a_batch_and_the_next_start_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    kept = v5_file(path, 3 * BATCH_ROWS)
    first = DataUpgrade(path)
    first.cancel()  # as Quit pressed at once: the first batch is the last
    first.start()
    assert first.finished.wait(WAIT_S)
    assert first.error is None
    assert user_version(path) == 5
    conn = sqlite3.connect(path)
    try:
        (copied,) = conn.execute("SELECT value FROM meta WHERE key = ?",
                                 (PROGRESS_KEY,)).fetchone()
    finally:
        conn.close()
    assert int(copied) > 0
    second = DataUpgrade(path)
    second.start()
    assert second.finished.wait(WAIT_S)
    assert second.error is None and user_version(path) == SCHEMA_VERSION
    store = Datastore(path)
    try:
        assert store.events.count("aw-watcher-window_host") == kept
    finally:
        store.close()


def test_a_file_that_cannot_be_upgraded_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    v5_file(path, 100)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE event")  # what no upgrade can go on from
    conn.close()
    upgrade = DataUpgrade(path)
    upgrade.start()
    assert upgrade.finished.wait(WAIT_S)
    assert upgrade.error is not None and "event" in upgrade.error
    assert user_version(path) == 5


def test_the_embedded_servers_older_file_is_found(tmp_path: Path) -> None:
    path = load_config(testing=True).database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    v5_file(path, 10)
    found = pending_upgrade(testing=True, port=free_port())
    assert found is not None and found.path == path


def test_nothing_is_upgraded_under_a_server_already_running(tmp_path: Path) -> None:
    path = load_config(testing=True).database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    v5_file(path, 10)
    server = embedded_server(tmp_path / "other", "otherhost")
    try:
        assert pending_upgrade(testing=True, port=server.port) is None
    finally:
        server.stop()
    assert user_version(path) == 5


def test_a_current_file_needs_no_upgrade() -> None:
    path = load_config(testing=True).database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    Datastore(path).close()
    assert pending_upgrade(testing=True, port=free_port()) is None


def test_a_file_another_process_writes_to_is_not_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    v5_file(path, 100)
    held = database_lock(path)  # another aw-server on another port, say
    try:
        upgrade = DataUpgrade(path)
        upgrade.start()
        assert upgrade.finished.wait(WAIT_S)
        assert upgrade.error is not None and "in use by another process" in upgrade.error
        assert user_version(path) == 5
    finally:
        held.release()
