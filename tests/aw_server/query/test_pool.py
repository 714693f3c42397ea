"""Queries run in a worker process of the server, answer exactly as in-process runs do,
share the server's result cache, and the worker comes and goes as it should."""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from aw_server.api import ServerAPI
from aw_server.datastore.store import Datastore
from aw_server.errors import AWError
from aw_server.http.statuses import status_of
from aw_server.query import QueryLimits, parse_period
from aw_server.query.parser import parse
from aw_server.query.pool import QueryPool
from aw_server.serve import Server
from tests.conftest import make_server

BUCKET = "aw-watcher-window_testhost"
DAY = "2024-01-01T00:00:00+00:00/2024-01-02T00:00:00+00:00"
SUMMARY = [
    f'events = flood(query_bucket("{BUCKET}"));',
    'events = categorize(events, [[["Work"], {"type": "regex", "regex": "code"}]]);',
    'RETURN = {"apps": sort_by_duration(merge_events_by_keys(events, ["app"])), '
    '"total": sum_durations(events), "n": query_bucket_eventcount("' + BUCKET + '")};',
]


def _workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if any("spawn_main" in part for part in p.cmdline())]


def _query(server: Server, program: list[str], period: str = DAY) -> requests.Response:
    return requests.post(f"{server.url}/api/0/query/", timeout=60,
                         json={"timeperiods": [period], "query": program})


@pytest.fixture
def server(tmp_path: Path) -> Any:
    srv = make_server(tmp_path)
    requests.post(f"{srv.url}/api/0/buckets/{BUCKET}", timeout=10, json={
        "type": "currentwindow", "client": "t", "hostname": "testhost"}).raise_for_status()
    events = [{"timestamp": f"2024-01-01T10:{m:02d}:00+00:00", "duration": 50,
               "data": {"app": "code" if m % 3 else "firefox", "title": f"t{m}"}}
              for m in range(60)]
    requests.post(f"{srv.url}/api/0/buckets/{BUCKET}/events", json=events,
                  timeout=10).raise_for_status()
    yield srv
    srv.stop()


def test_no_time_periods_answer_an_empty_list_without_a_worker(server: Server) -> None:
    response = requests.post(f"{server.url}/api/0/query/", timeout=60,
                             json={"timeperiods": [], "query": SUMMARY})
    assert (response.status_code, response.json()) == (200, [])
    assert _workers() == []
    bad = requests.post(f"{server.url}/api/0/query/", timeout=60,
                        json={"timeperiods": "2024-01-01/2024-01-02", "query": SUMMARY})
    assert bad.status_code == 400 and "timeperiods" in bad.json()["message"]


def test_a_malformed_program_is_rejected_without_a_worker(server: Server) -> None:
    """The server parses first: a syntax error or bad period never costs a worker."""
    for program, period in ((["RETURN = ;"], DAY), (SUMMARY, "2024-01-01/yesterday")):
        answer = _query(server, program, period)
        assert answer.status_code == 400, answer.text
    assert _workers() == []


def test_a_query_runs_in_a_worker_and_matches_an_in_process_run(server: Server) -> None:
    assert _workers() == []  # nothing started before the first query
    answer = _query(server, SUMMARY)
    assert answer.status_code == 200, answer.text
    assert len(_workers()) == 1
    in_process = ServerAPI(Datastore(server.config.database_path()), hostname="testhost")
    assert answer.json() == in_process.query(SUMMARY, [DAY])
    assert answer.json()[0]["n"] == 60


def test_opening_the_dashboard_starts_the_worker_its_first_query_then_uses(
        server: Server) -> None:
    assert _workers() == []
    page = requests.get(f"{server.url}/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    deadline = time.monotonic() + 30
    while not _workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    (started,) = _workers()
    assert _query(server, SUMMARY).status_code == 200
    assert [w.pid for w in _workers()] == [started.pid]


def test_past_periods_come_from_the_cache_until_the_bucket_changes(server: Server) -> None:
    first = _query(server, SUMMARY).json()
    pool = server.queries.pool
    assert pool is not None
    for worker in _workers():  # a cached answer needs no worker at all
        worker.send_signal(signal.SIGSTOP)
    try:
        assert _query(server, SUMMARY).json() == first
    finally:
        for worker in _workers():
            worker.send_signal(signal.SIGCONT)
    requests.post(f"{server.url}/api/0/buckets/{BUCKET}/events", timeout=10, json=[
        {"timestamp": "2024-01-01T12:00:00+00:00", "duration": 100,
         "data": {"app": "code", "title": "late"}}]).raise_for_status()
    after = _query(server, SUMMARY).json()
    assert after[0]["n"] == 61
    assert after[0]["total"] == pytest.approx(first[0]["total"] + 100)


@pytest.mark.parametrize("program", [
    ['RETURN = query_bucket("nope");'],
    ["RETURN = ;"],
    ['RETURN = filter_keyvals_regex(query_bucket("' + BUCKET + '"), "title", "(");'],
    ['RETURN = flood(1);'],
])
def test_errors_from_the_worker_are_those_of_an_in_process_run(
        server: Server, program: list[str]) -> None:
    answer = _query(server, program)
    in_process = ServerAPI(Datastore(server.config.database_path()), hostname="testhost")
    with pytest.raises(AWError) as raised:
        in_process.query(program, [DAY])
    assert answer.status_code == status_of(raised.value)
    assert answer.json()["message"] == raised.value.message


def test_a_killed_worker_is_replaced(server: Server) -> None:
    assert _query(server, SUMMARY).ok
    (worker,) = _workers()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    later = "2024-01-03T00:00:00+00:00/2024-01-04T00:00:00+00:00"  # not cached
    answer = _query(server, SUMMARY, later)
    assert answer.status_code == 200, answer.text
    assert [w.pid for w in _workers()] != [worker.pid]


def test_an_idle_worker_stops_and_a_stopped_server_leaves_none(tmp_path: Path) -> None:
    pool = QueryPool(functools.partial(Datastore, tmp_path / "db.sqlite"), idle_s=0.5)
    Datastore(tmp_path / "db.sqlite").close()
    limits = QueryLimits(max_seconds=30)
    try:
        (answer,) = pool.run(parse("RETURN = 1;"), [parse_period(DAY)], None, {}, limits)
        assert answer.result == 1
        assert len(_workers()) == 1
        deadline = time.monotonic() + 20
        while _workers() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _workers() == []
        (answer,) = pool.run(parse("RETURN = 2;"), [parse_period(DAY)], None, {}, limits)
        assert answer.result == 2
    finally:
        pool.close()
    assert _workers() == []


def _loads_numpy(process: psutil.Process) -> bool:
    return any("_multiarray_umath" in m.path for m in process.memory_maps())


def test_a_warmed_up_worker_has_the_query_engine_loaded_before_any_query(
        tmp_path: Path) -> None:
    """warm_up's worker imports numpy and the columnar transforms while starting, so the
    dashboard's first query does not wait for them."""
    Datastore(tmp_path / "db.sqlite").close()
    pool = QueryPool(functools.partial(Datastore, str(tmp_path / "db.sqlite")))
    try:
        pool.warm_up()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = _workers()
            if workers and _loads_numpy(workers[0]):
                break
            time.sleep(0.05)
        (worker,) = _workers()
        assert _loads_numpy(worker)
    finally:
        pool.close()


def test_the_worker_reads_buckets_as_columns(tmp_path: Path) -> None:
    from aw_server.event_table import EventTable
    from aw_server.models import Bucket, Event
    from aw_server.query.pool import _MarkedSource

    store = Datastore(tmp_path / "db.sqlite")
    try:
        store.buckets.create(Bucket(BUCKET, "currentwindow", "t", "testhost", "2024-01-01"))
        store.events.insert(BUCKET, [Event(i * 10**7, 10**7, {"app": str(i % 3)})
                                     for i in range(50)])
        source = _MarkedSource(store, {BUCKET: store.buckets.change_marker(BUCKET)})
        table = source.event_table(BUCKET, 0, 10**9)
        assert isinstance(table, EventTable)
        assert table.to_events() == store.source.events(BUCKET, 0, 10**9)
    finally:
        store.close()


def test_the_worker_ends_when_the_server_process_is_killed(tmp_path: Path) -> None:
    """A server killed outright (a crash, `kill -9`, the OOM killer) must not leave its
    query worker behind, holding memory and the database open."""
    from tests.support.servers import start_server_process

    proc = start_server_process(tmp_path / "server")
    try:
        requests.post(f"{proc.url}/api/0/buckets/{BUCKET}", timeout=10, json={
            "type": "currentwindow", "client": "t", "hostname": "testhost"}).raise_for_status()
        answer = requests.post(f"{proc.url}/api/0/query/", timeout=60,
                               json={"timeperiods": [DAY], "query": SUMMARY})
        assert answer.status_code == 200, answer.text
        assert proc.proc is not None
        workers = [p for p in psutil.Process(proc.proc.pid).children(recursive=True)
                   if any("spawn_main" in part for part in p.cmdline())]
        assert workers, "the query should have started a worker"
    finally:
        proc.kill()
    _gone, alive = psutil.wait_procs(workers, timeout=20)
    for leftover in alive:
        leftover.kill()
    assert alive == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_the_worker_finds_glibcs_malloc_trim_to_return_memory_after_queries() -> None:
    from aw_server.query import pool

    pool._return_freed_memory_promptly()
    assert pool._libc is not None
    pool._trim_freed_memory()  # returns freed heap pages; must not fail


# What the `aw-qt` command's script does (pip's console-script wrapper) before `main()`.
CONSOLE_SCRIPT = """
import sys
from aw_qt.__main__ import main

if __name__ == "__main__":
    import functools
    import time
    from pathlib import Path

    from aw_server.query.pool import QueryPool
    from tests.aw_server.query.worker_probe import open_and_record

    database, record = sys.argv[1:3]
    pool = QueryPool(functools.partial(open_and_record, database, record))
    pool.warm_up()
    deadline = time.monotonic() + 60
    while not Path(record).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pool.close()
"""


def test_the_worker_of_the_aw_qt_command_imports_neither_the_tray_nor_flask(
        tmp_path: Path) -> None:
    """A spawned child first runs the script its parent was started from; for `aw-qt`
    that imported the tray, the whole server, Flask and waitress into every query worker
    (465 modules, ~0.15 s of its start and ~14 MiB). The worker starts from its own
    opener instead, and that opens only the stores a query reads."""
    import json
    import subprocess

    script = tmp_path / "aw-qt"
    script.write_text(CONSOLE_SCRIPT)
    database, record = tmp_path / "db.sqlite", tmp_path / "modules.json"
    Datastore(database).close()
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, str(script), str(database), str(record)],
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set(json.loads(record.read_text()))
    assert "aw_server.datastore.source" in modules  # the probe did run in the worker
    for unwanted in ("aw_qt", "aw_qt.__main__", "flask", "waitress", "aw_server.http",
                     "aw_server.datastore.sync_store", "aw_server.datastore.imports"):
        assert unwanted not in modules, unwanted
