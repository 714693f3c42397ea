"""The embedded server (own, found, or blocked port), export to JSON/CSV, and CSV rows."""

from __future__ import annotations

import csv
import io
import json
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from aw_qt.server import ServerMode, start_server
from aw_qt.transfer.export import ExportJob, HttpExportSource
from aw_server.api import ServerAPI
from aw_server.config import default_config_path
from aw_server.serve import Server
from aw_server.transfer.csv_export import write_csv
from tests.conftest import make_server


def fill(api: ServerAPI, bucket: str, count: int, data: dict[str, object]) -> None:
    api.create_bucket(bucket, {"type": "test", "client": "tests", "hostname": "h"})
    start = datetime(2026, 11, 1, tzinfo=UTC)
    api.create_events(bucket, [
        {"timestamp": (start + timedelta(seconds=10 * i)).isoformat(), "duration": 5.0,
         "data": {**data, "n": i}} for i in range(count)])


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Server]:
    server = make_server(tmp_path)
    fill(server.api, "aw-watcher-window_h", 2500, {"app": "Firefox", "title": "Straße ✓"})
    fill(server.api, "aw-watcher-afk_h", 3, {"status": "not-afk"})
    yield server
    server.stop()


def test_embedded_server_on_a_free_port() -> None:
    handle = start_server(testing=True, port=0)
    try:
        assert handle.mode is ServerMode.EMBEDDED and handle.reachable()
        assert requests.get(handle.url + "/api/0/info", timeout=5).json()["testing"] is True
    finally:
        handle.stop()
    assert not handle.reachable()


def test_server_already_running_is_used_and_never_stopped(tmp_path: Path) -> None:
    other = make_server(tmp_path)
    try:
        handle = start_server(testing=True, port=other.port)
        assert handle.mode is ServerMode.EXTERNAL and handle.api is None
        handle.stop()
        assert requests.get(other.url + "/api/0/info", timeout=5).status_code == 200
    finally:
        other.stop()


def test_port_taken_by_something_else_is_reported() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        handle = start_server(testing=True, port=port)
        handle.stop()
    assert handle.mode is ServerMode.UNAVAILABLE
    assert f"Port {port}" in handle.problem and "another program" in handle.problem
    assert not handle.reachable()


def test_json_export_reimports_identically(filled: Server, tmp_path: Path) -> None:
    job = ExportJob(filled.api, tmp_path / "out.json", "json")
    job.run()
    assert job.error is None and job.done == job.total == 2503
    assert "buckets" in json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    fresh = make_server(tmp_path / "fresh")
    try:
        fresh.api.import_file(tmp_path / "out.json")
        for bucket in ("aw-watcher-window_h", "aw-watcher-afk_h"):
            ours = [json.loads(e) for e in filled.api.events_json(bucket, None, None, None)]
            theirs = [json.loads(e) for e in fresh.api.events_json(bucket, None, None, None)]
            strip = [{k: v for k, v in e.items() if k != "id"} for e in ours]
            assert strip == [{k: v for k, v in e.items() if k != "id"} for e in theirs]
    finally:
        fresh.stop()


def test_export_over_http_from_an_external_server(filled: Server, tmp_path: Path) -> None:
    for fmt in ("json", "csv"):
        job = ExportJob(HttpExportSource(filled.url), tmp_path / f"out.{fmt}", fmt)
        job.run()
        assert job.error is None and job.total == 2503
    assert len(json.loads((tmp_path / "out.json").read_text())["buckets"]) == 2
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").count("\n") == 2504


def test_csv_rows_columns_and_bom(filled: Server) -> None:
    out = io.StringIO()
    rows = write_csv(filled.api, out)
    assert rows == 2503
    text = out.getvalue()
    assert text.startswith("\ufeffbucket,timestamp,duration,")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert table[0] == ["bucket", "timestamp", "duration", "app", "n", "status", "title"]
    afk = [r for r in table[1:] if r[0] == "aw-watcher-afk_h"]
    assert len(afk) == 3 and {r[5] for r in afk} == {"not-afk"} and afk[0][3] == ""
    window = next(r for r in table[1:] if r[0] == "aw-watcher-window_h")
    assert window[3] == "Firefox" and window[6] == "Straße ✓" and window[2] == "5.0"


def test_cancelled_export_leaves_no_file(filled: Server, tmp_path: Path) -> None:
    for fmt in ("json", "csv"):
        job = ExportJob(filled.api, tmp_path / f"out.{fmt}", fmt)
        job.cancel()
        job.run()
        assert job.cancelled and job.error is None
        assert list(tmp_path.glob("*out*")) == []


def test_unwritable_path_gives_a_clear_error(filled: Server, tmp_path: Path) -> None:
    job = ExportJob(filled.api, tmp_path / "no" / "such" / "dir" / "out.json", "json")
    assert "does not exist" in (job.check_writable() or "")
    job.run()
    assert job.error is not None and "does not exist" in job.error
    if sys.platform == "linux":  # even root cannot create files in /proc
        job = ExportJob(filled.api, Path("/proc/aw-export-test.csv"), "csv")
        job.run()
        assert job.error is not None and job.error.startswith("Cannot write to /proc/")


def test_unreadable_server_config_is_reported_not_fatal() -> None:
    path = default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[server\nport = ")
    handle = start_server(testing=True, port=0)
    handle.stop()
    assert handle.mode is ServerMode.UNAVAILABLE
    assert "aw-server.toml" in handle.problem
