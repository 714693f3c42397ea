"""The persistent query result cache (`datastore/result_cache.py`) on real SQLite files:
each "run" opens the database, the cache file beside it and a query service, and closes
them as the server does, so a second run is a restart."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aw_server.datastore.result_cache import FILE_SUFFIX, ResultFile
from aw_server.datastore.store import Datastore
from aw_server.models import Bucket, Event
from aw_server.query import QueryCache, QueryService
from aw_server.transfer.finding import import_file
from tests.aw_server.sync.helpers import sync

S = 1_000_000
DAY2 = 1_704_153_600 * S  # 2024-01-02T00:00:00Z
PROGRAM = ['RETURN = query_bucket("window");']
PERIOD = ["2024-01-02T00:00:00+00:00/2024-01-03T00:00:00+00:00"]


@dataclass
class Run:
    store: Datastore
    results: ResultFile
    cache: QueryCache
    service: QueryService

    def query(self, program: list[str] = PROGRAM, period: list[str] = PERIOD) -> Any:
        answer = self.service.query(program, period)
        assert self.results.flush()
        return answer[0]


@contextmanager
def server_run(db_path: Path, **bounds: int) -> Iterator[Run]:
    """What the server does at start and stop, in that order."""
    store = Datastore(db_path)
    results = ResultFile(store, **bounds)
    cache = QueryCache(persistent=results)
    service = QueryService(store.source, cache=cache)
    try:
        yield Run(store, results, cache, service)
    finally:
        service.close()
        store.close()


def window_store(db_path: Path) -> None:
    store = Datastore(db_path)
    store.buckets.create(Bucket("window", "currentwindow", "t", "h",
                                "2024-01-01T00:00:00+00:00"))
    store.events.insert("window", [Event(DAY2 + 3600 * S, 60 * S, {"app": "a"})])
    store.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "server.sqlite"
    window_store(path)
    return path


def test_a_result_is_answered_from_the_file_after_a_restart(db_path: Path) -> None:
    with server_run(db_path) as first:
        computed = first.query()
        assert first.cache.hits == 0
    assert Path(str(db_path) + FILE_SUFFIX).exists()
    with server_run(db_path) as second:
        assert second.query() == computed
        assert (second.cache.hits, second.cache.misses) == (1, 0)
        assert second.query() == computed  # now from memory
        assert second.cache.hits == 2
    assert [e["data"] for e in computed] == [{"app": "a"}]


def test_a_heartbeat_into_a_read_bucket_after_the_restart_is_seen(db_path: Path) -> None:
    with server_run(db_path) as first:
        first.query()
    with server_run(db_path) as second:
        second.store.events.heartbeat("window", Event(DAY2 + 3670 * S, 0, {"app": "a"}),
                                      pulsetime_us=20 * S)
        answer = second.query()
        assert second.cache.hits == 0
        assert answer[0]["duration"] == 70.0  # the heartbeat extended the same event
    with server_run(db_path) as third:
        assert third.query() == answer
        assert third.cache.hits == 1


def test_a_write_while_the_server_was_down_drops_the_entries(db_path: Path) -> None:
    with server_run(db_path) as first:
        first.query()
    store = Datastore(db_path)
    store.events.insert("window", [Event(DAY2 + 7200 * S, 5 * S, {"app": "late"})])
    store.close()
    with server_run(db_path) as second:
        answer = second.query()
        assert second.cache.hits == 0
    assert [e["data"]["app"] for e in answer] == ["late", "a"]


def test_an_import_into_a_read_bucket_invalidates_the_entry(db_path: Path,
                                                             tmp_path: Path) -> None:
    export = {"buckets": {"window": {
        "id": "window", "type": "currentwindow", "client": "t", "hostname": "h",
        "created": "2024-01-01T00:00:00+00:00",
        "events": [{"timestamp": "2024-01-02T05:00:00+00:00", "duration": 5,
                    "data": {"app": "imported"}}]}}}
    (tmp_path / "export.json").write_text(json.dumps(export))
    with server_run(db_path) as first:
        first.query()
    with server_run(db_path) as second:
        import_file(second.store, tmp_path / "export.json")
        answer = second.query()
        assert second.cache.hits == 0
    assert [e["data"]["app"] for e in answer] == ["imported", "a"]


def test_sync_into_a_mirror_bucket_invalidates_the_entry(trio: list[Datastore]) -> None:
    a, b, _ = trio
    b.buckets.create(Bucket("window", "currentwindow", "t", "laptop",
                            "2024-01-01T00:00:00+00:00"))
    b.events.insert("window", [Event(DAY2, 10 * S, {"app": "b1"})])
    sync(a, b)
    results = ResultFile(a)
    cache = QueryCache(persistent=results)
    service = QueryService(a.source, cache=cache)
    program = ['RETURN = query_bucket(find_bucket("window"));']
    try:
        first = service.query(program, PERIOD)[0]
        assert [e["data"]["app"] for e in first] == ["b1"]
        assert service.query(program, PERIOD)[0] == first
        assert cache.hits == 1
        b.events.insert("window", [Event(DAY2 + 20 * S, 10 * S, {"app": "b2"})])
        sync(a, b)
        cache.clear()  # memory gone as after a restart: the file alone must not answer
        again = service.query(program, PERIOD)[0]
        assert cache.hits == 1
        assert [e["data"]["app"] for e in again] == ["b2", "b1"]
    finally:
        service.close()


def test_a_replaced_database_file_is_not_served_old_results(db_path: Path,
                                                             tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    store = Datastore(other)
    store.buckets.create(Bucket("window", "currentwindow", "t", "h",
                                "2024-01-01T00:00:00+00:00"))
    store.events.insert("window", [Event(DAY2 + 3600 * S, 60 * S, {"app": "other"})])
    store.close()
    with server_run(db_path) as first:
        first.query()
    shutil.copyfile(other, db_path)
    with server_run(db_path) as second:
        answer = second.query()
        assert second.cache.hits == 0
    assert [e["data"]["app"] for e in answer] == ["other"]


def test_a_database_restored_from_a_backup_is_not_served_newer_results(
        db_path: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite"
    shutil.copyfile(db_path, backup)
    store = Datastore(db_path)
    store.events.insert("window", [Event(DAY2 + 7200 * S, 5 * S, {"app": "after"})])
    store.close()
    with server_run(db_path) as first:
        assert [e["data"]["app"] for e in first.query()] == ["after", "a"]
    shutil.copyfile(backup, db_path)
    with server_run(db_path) as second:
        answer = second.query()
        assert second.cache.hits == 0
    assert [e["data"]["app"] for e in answer] == ["a"]


def periods(n: int) -> list[list[str]]:
    return [[f"2024-01-{d:02d}T00:00:00+00:00/2024-01-{d + 1:02d}T00:00:00+00:00"]
            for d in range(1, n + 1)]


def stored_keys(run: Run) -> int:
    conn = run.results._conn
    assert conn is not None
    return int(conn.execute("SELECT count(*) FROM entry").fetchone()[0])


def test_past_the_entry_bound_the_least_recently_used_go(db_path: Path) -> None:
    days = periods(5)
    with server_run(db_path, max_entries=3) as first:
        for period in days[:3]:
            first.query(period=period)
        first.cache.clear()
        first.query(period=days[0])  # read from the file: now the most recently used
        assert first.cache.hits == 1
        for period in days[3:]:
            first.query(period=period)
        assert stored_keys(first) == 3
    with server_run(db_path, max_entries=3) as second:
        for period in (days[0], days[3], days[4]):
            second.query(period=period)
        assert second.cache.hits == 3
        second.query(period=days[1])
        assert second.cache.hits == 3


def test_past_the_byte_bound_old_entries_go(db_path: Path) -> None:
    with server_run(db_path) as probe:
        probe.query(period=periods(1)[0])
        conn = probe.results._conn
        assert conn is not None
        one = int(conn.execute("SELECT max(size) FROM entry").fetchone()[0])
    Path(str(db_path) + FILE_SUFFIX).unlink()
    with server_run(db_path, max_bytes=2 * one + one // 2) as run:
        for period in periods(4):
            run.query(period=period)
        assert stored_keys(run) == 2


def test_a_corrupt_cache_file_is_discarded_with_a_log_line(
        db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with server_run(db_path) as first:
        expected = first.query()
    Path(str(db_path) + FILE_SUFFIX).write_bytes(b"not a database at all" * 100)
    with caplog.at_level(logging.WARNING, logger="aw_server.datastore.result_cache"), \
            server_run(db_path) as second:
        assert second.query() == expected
        assert second.cache.hits == 0
        assert second.results.usable
    assert any("unreadable" in r.message for r in caplog.records)
    with server_run(db_path) as third:
        assert third.query() == expected
        assert third.cache.hits == 1


def test_an_entry_that_cannot_be_read_drops_the_file_and_the_query_answers(
        db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with server_run(db_path) as first:
        expected = first.query()
    with server_run(db_path) as second:
        conn = second.results._conn
        assert conn is not None
        conn.execute("UPDATE entry SET result = x'00ff00ff'")
        with caplog.at_level(logging.WARNING, logger="aw_server.datastore.result_cache"):
            assert second.query() == expected
        assert not second.results.usable
        assert not Path(str(db_path) + FILE_SUFFIX).exists()
    assert any("read failed" in r.message for r in caplog.records)


def test_the_cache_file_is_private(db_path: Path) -> None:
    with server_run(db_path) as run:
        run.query()
    assert Path(str(db_path) + FILE_SUFFIX).stat().st_mode & 0o077 == 0


def test_a_write_after_the_last_checkpoint_of_a_crashed_run_drops_the_entries(
        db_path: Path) -> None:
    """A run that never closes its cache file (killed) leaves the checkpoint of its last
    cache write; a heartbeat after it must not let the next run trust the markers."""
    store = Datastore(db_path)
    results = ResultFile(store)
    service = QueryService(store.source, cache=QueryCache(persistent=results))
    service.query(PROGRAM, PERIOD)
    assert results.flush()
    store.events.heartbeat("window", Event(DAY2 + 3670 * S, 0, {"app": "a"}),
                           pulsetime_us=20 * S)
    store.close()  # the result file is left as a killed server leaves it
    try:
        with server_run(db_path) as second:
            answer = second.query()
            assert second.cache.hits == 0
    finally:
        forget(results)
    assert answer[0]["duration"] == 70.0


def forget(results: ResultFile) -> None:
    """Stop a run's writer thread and connections without the checkpoint of `close`."""
    results._jobs.put(("stop", None))
    results._close_connections()


def test_a_crashed_run_without_writes_after_its_last_checkpoint_keeps_its_entries(
        db_path: Path) -> None:
    store = Datastore(db_path)
    results = ResultFile(store)
    service = QueryService(store.source, cache=QueryCache(persistent=results))
    computed = service.query(PROGRAM, PERIOD)[0]
    assert results.flush()
    store.close()
    try:
        with server_run(db_path) as second:
            assert second.query() == computed
            assert second.cache.hits == 1
    finally:
        forget(results)
