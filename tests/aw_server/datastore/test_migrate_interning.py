"""Version 5 files (whole data texts per event) migrate to interned data: once, in
batches that survive a kill, every event byte-identical through the API and sync."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aw_server.datastore.migrate_interning import PROGRESS_KEY
from aw_server.datastore.rows import event_json_text
from aw_server.datastore.schema import SCHEMA_VERSION
from aw_server.datastore.store import Datastore
from aw_server.models import Event
from tests.aw_server.sync.helpers import sync
from tests.support.schema_v5 import write_database

S = 1_000_000
T0 = 1_700_000_000 * S
REPO = Path(__file__).resolve().parents[3]

# Spellings another program (or an older version) may have stored: each must come back
# exactly, and none may be merged with another that reads back differently.
ODD_TEXTS = ['{"a":1}', '{"a":1.0}', '{"b":2,"a":1}', '{"a":1,"b":2}', '{"s":"\\u00e9"}',
             '{"s":"é"}', '{ "a" : 1 }', '{"n":null,"l":[1,2,{"x":"y"}]}', '{}']


def _rows(count: int) -> list[tuple[int, int, object]]:
    """Window-like rows: a few hundred titles, repeated, plus the odd spellings."""
    out: list[tuple[int, int, object]] = []
    for i in range(count):
        start = T0 + i * 3 * S
        data: object = ODD_TEXTS[i % len(ODD_TEXTS)] if i % 7 == 0 else \
            {"app": f"app{i % 5}", "title": f"title {i % 300}"}
        out.append((start, start + 2 * S + i % 1000, data))
    return out


def _v5(path: Path, count: int) -> dict[str, list[tuple[int, int, object]]]:
    buckets = {"window": _rows(count), "afk": [(T0 + i * 60 * S, T0 + i * 60 * S + 30 * S,
                                               {"status": "afk" if i % 2 else "not-afk"})
                                              for i in range(count // 10)]}
    write_database(path, buckets)
    return buckets


def _stored_before(path: Path) -> dict[str, list[str]]:
    """Each bucket's events as the API answers them (newest first), from the v5 rows."""
    conn = sqlite3.connect(path)
    try:
        out: dict[str, list[str]] = {}
        for (bucket_id,) in conn.execute("SELECT id FROM bucket ORDER BY key").fetchall():
            out[bucket_id] = [
                event_json_text(*row) for row in conn.execute(
                    "SELECT e.id, e.start, e.end, e.data FROM event e JOIN bucket b ON "
                    "b.key = e.bucket WHERE b.id = ? ORDER BY e.start DESC, e.end DESC, "
                    "e.id DESC", (bucket_id,))]
        return out
    finally:
        conn.close()


def _data_text(wire: str) -> str:
    """The stored data text inside an event's wire JSON (`event_json_text`'s last field)."""
    return wire[wire.index('"data": ') + len('"data": '):-1]


def _seen_now(store: Datastore) -> dict[str, list[str]]:
    return {b: list(store.events.iter_json(b)) for b in ("window", "afk")}


def test_a_version_5_file_migrates_with_every_event_byte_identical(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "v5.sqlite"
    _v5(db, 3000)
    before = _stored_before(db)
    caplog.set_level(logging.INFO, logger="aw_server.datastore.migrate_interning")
    store = Datastore(db)
    try:
        conn = store.db.conn()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _seen_now(store) == before
        texts = [t for (t,) in conn.execute("SELECT text FROM event_data")]
        assert len(texts) == len(set(texts))
        assert set(ODD_TEXTS) <= set(texts)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'event_v6'"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM meta WHERE key = ?", (PROGRESS_KEY,)
                            ).fetchone() == (0,)
        # The deleted newest event's id stays unused.
        (new,) = store.events.insert("window", [Event(T0, S, {"new": True})])
        assert new.id == 3000 + 300 + 1
    finally:
        store.close()
    assert any("event data" in r.getMessage() for r in caplog.records)


def test_export_rows_keep_the_stored_texts(tmp_path: Path) -> None:
    db = tmp_path / "v5.sqlite"
    _v5(db, 500)
    conn = sqlite3.connect(db)
    expected = conn.execute("SELECT e.start, e.end, e.data FROM event e WHERE bucket = 1 "
                            "ORDER BY e.start DESC, e.id DESC").fetchall()
    conn.close()
    store = Datastore(db)
    try:
        assert list(store.events.export_rows("window")) == expected
    finally:
        store.close()


def test_a_migrated_log_syncs_and_verifies_with_the_same_texts(tmp_path: Path) -> None:
    db = tmp_path / "v5.sqlite"
    _v5(db, 800)
    before = _stored_before(db)
    migrated = Datastore(db)
    peer = Datastore(tmp_path / "peer.sqlite")
    try:
        result = sync(peer, migrated)
        assert result.skipped == 0
        conn = peer.db.conn()
        got = sorted(t for (t,) in conn.execute(
            "SELECT d.text FROM event e JOIN event_data d ON d.id = e.data_id "
            "WHERE e.origin != ?", (peer.db.self_origin,)))
        assert got == sorted(_data_text(x) for texts in before.values() for x in texts)
    finally:
        peer.close()
        migrated.close()


_CHILD = textwrap.dedent("""
    import sqlite3, sys, time
    from aw_server.datastore.schema import migrate

    def progress(done, total):
        print(done, total, flush=True)
        time.sleep(0.02)

    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    migrate(conn, batch_rows=int(sys.argv[2]), progress=progress)
    print("finished", flush=True)
""")


@pytest.mark.parametrize("batches_before_kill", [1, 4])
def test_a_migration_killed_midway_completes_on_the_next_start(
        tmp_path: Path, batches_before_kill: int) -> None:
    db = tmp_path / "v5.sqlite"
    _v5(db, 4000)
    before = _stored_before(db)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(db), "200"], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        for _ in range(batches_before_kill):
            line = child.stdout.readline()  # each line: one batch committed
            assert line and line.split()[0].isdigit(), line
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db)
    try:
        # Killed midway: still version 5, the old table whole, the progress point stored.
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION - 1,)
        (copied,) = conn.execute("SELECT value FROM meta WHERE key = ?",
                                 (PROGRESS_KEY,)).fetchone()
        assert int(copied) >= 200 * batches_before_kill
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (4000 + 400 - 1,)
    finally:
        conn.close()
    store = Datastore(db)
    try:
        assert store.db.conn().execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert _seen_now(store) == before
    finally:
        store.close()


def test_a_new_database_starts_at_the_current_version(tmp_path: Path) -> None:
    store = Datastore(tmp_path / "new.sqlite")
    try:
        conn = store.db.conn()
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
        assert {"event", "event_data", "event_range", "event_identity",
                "event_changes"} <= names
        assert "event_v6" not in names
    finally:
        store.close()
