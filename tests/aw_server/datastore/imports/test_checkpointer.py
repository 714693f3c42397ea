"""The background checkpointer copies a writer's committed pages into the database file
while the writer goes on, and stops with its block."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from aw_server.datastore.imports.checkpointer import BackgroundCheckpointer


def _writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # as the publishing thread sets it
    conn.execute("CREATE TABLE t (x TEXT)")
    return conn


def _fill(conn: sqlite3.Connection, rows: int) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(rows)])
    conn.execute("COMMIT")


def _backfilled(conn: sqlite3.Connection) -> int:
    """Frames of the WAL already copied into the database file (a PASSIVE checkpoint
    that finds nothing new to copy reports the earlier progress)."""
    return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[2])


def test_committed_pages_reach_the_database_file_while_the_writer_goes_on(
        tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = _writer(path)
    try:
        size_before = path.stat().st_size
        with BackgroundCheckpointer(str(path), interval=0.01) as checkpointer:
            _fill(writer, 4000)  # about 2 MB
            deadline = time.monotonic() + 10
            while path.stat().st_size <= size_before + 1_000_000 \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
            grown = path.stat().st_size
            writer.execute("BEGIN")  # the writer is not blocked by it meanwhile
            writer.execute("INSERT INTO t VALUES ('more')")
            writer.execute("COMMIT")
        assert grown > size_before + 1_000_000
        assert checkpointer.checkpoints > 0
        assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == 4001
    finally:
        writer.close()


def test_without_it_the_writer_leaves_the_pages_in_the_wal(tmp_path: Path) -> None:
    # The control for the test above: nothing else copies them.
    path = tmp_path / "db.sqlite"
    writer = _writer(path)
    try:
        size_before = path.stat().st_size
        _fill(writer, 4000)
        time.sleep(0.2)
        assert path.stat().st_size == size_before
        assert _backfilled(writer) > 0  # a checkpoint, once asked for, does copy them
        assert path.stat().st_size > size_before + 1_000_000
    finally:
        writer.close()


def test_it_stops_with_its_block_and_survives_a_missing_database(tmp_path: Path) -> None:
    with BackgroundCheckpointer(str(tmp_path / "no" / "such" / "dir" / "db.sqlite"),
                                interval=0.01) as checkpointer:
        time.sleep(0.05)
    assert not checkpointer._thread.is_alive()
    assert checkpointer.checkpoints == 0
