"""A front end can tell a slow schema upgrade is due, and run it with its progress."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aw_server.datastore.migrate_interning import BATCH_ROWS
from aw_server.datastore.schema import SCHEMA_VERSION
from aw_server.datastore.store import Datastore
from aw_server.datastore.upgrade import upgrade, upgrade_pending
from tests.support.schema_v5 import write_database

S = 1_000_000
T0 = 1_700_000_000 * S


def v5_file(path: Path, count: int) -> int:
    rows = [(T0 + i * 3 * S, T0 + i * 3 * S + 2 * S, {"app": f"app{i % 4}", "title": f"t{i % 90}"})
            for i in range(count)]
    return write_database(path, {"aw-watcher-window_host": rows})


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_an_older_file_is_pending_and_its_upgrade_reports_each_batch(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    kept = v5_file(path, 2 * BATCH_ROWS + 123)
    assert upgrade_pending(path)
    calls: list[tuple[int, int]] = []
    upgrade(path, lambda copied, total: calls.append((copied, total)))
    assert [c for c, _ in calls] == [BATCH_ROWS, 2 * BATCH_ROWS, kept]
    assert {t for _, t in calls} == {kept}
    assert user_version(path) == SCHEMA_VERSION
    assert not upgrade_pending(path)
    store = Datastore(path)
    try:
        assert store.events.count("aw-watcher-window_host") == kept
    finally:
        store.close()


def test_asking_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    v5_file(path, 10)
    before = path.read_bytes()
    assert upgrade_pending(path)
    assert path.read_bytes() == before
    assert user_version(path) == 5


def test_missing_new_current_newer_and_unreadable_files_are_not_pending(
        tmp_path: Path) -> None:
    assert not upgrade_pending(tmp_path / "missing.sqlite")
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert not upgrade_pending(empty)
    current = tmp_path / "current.sqlite"
    Datastore(current).close()
    assert not upgrade_pending(current)
    newer = tmp_path / "newer.sqlite"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert not upgrade_pending(newer)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database, " * 100)
    assert not upgrade_pending(garbage)
    assert garbage.read_bytes() == b"this is not a database, " * 100
