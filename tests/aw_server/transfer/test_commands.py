"""`aw-server import` and `aw-server export` as a user runs them: real subprocesses."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from aw_server.api import ServerAPI
from aw_server.datastore.store import Datastore
from aw_server.transfer.csv_export import read_csv, write_csv
from tests.aw_server.transfer.activitywatch_files import rust_db
from tests.support.servers import ServerProcess


def cli(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AW_BASE_DIR=str(tmp_path / "dirs"))
    return subprocess.run([sys.executable, "-m", "aw_server", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, check=False, encoding="utf-8")


def big_rust_db(path: Path, events: int) -> None:
    rust_db(path, 5)
    conn = sqlite3.connect(path)
    base = 1_600_000_000 * 10**9
    conn.executemany(
        "INSERT INTO events (bucketrow, starttime, endtime, data) VALUES (?, ?, ?, ?)",
        ((1 + i % 2, base + i * 10**9, base + i * 10**9 + 5 * 10**8,
          json.dumps({"app": f"app{i % 13}", "title": f"title {i % 1000} ✓"}))
         for i in range(events)))
    conn.commit()
    conn.close()


def dump(db: Path) -> Any:
    store = Datastore(db)
    try:
        return json.loads("".join(ServerAPI(store).export_chunks()))
    finally:
        store.close()


def test_import_command_reports_and_is_idempotent(tmp_path: Path) -> None:
    source = tmp_path / "src" / "sqlite.db"
    source.parent.mkdir()
    rust_db(source, 5)
    db = tmp_path / "ours.sqlite"
    first = cli(tmp_path, "import", str(source), "--dbpath", str(db))
    assert first.returncode == 0, first.stderr
    assert "100 events added" in first.stdout and "settings added" in first.stdout
    assert "writing" in first.stderr  # the progress line
    second = cli(tmp_path, "import", str(source), "--dbpath", str(db))
    assert "0 events added, 100 already present" in second.stdout


def test_flags_work_before_and_after_the_command(tmp_path: Path) -> None:
    """`aw-server --testing import PATH`, as users type it (it used to fail with
    "unrecognized arguments"), and `aw-server import PATH --testing` do the same."""
    source = tmp_path / "src" / "sqlite.db"
    source.parent.mkdir()
    rust_db(source, 5)
    before = cli(tmp_path, "--testing", "import", str(source))
    assert before.returncode == 0, before.stderr
    assert "100 events added" in before.stdout
    after = cli(tmp_path, "import", str(source), "--testing")
    assert "0 events added, 100 already present" in after.stdout  # the same database
    exports = [cli(tmp_path, *args) for args in (("--testing", "-v", "export"),
                                                 ("export", "--testing"))]
    assert [r.returncode for r in exports] == [0, 0], [r.stderr for r in exports]
    assert exports[0].stdout == exports[1].stdout
    assert sum(len(b["events"]) for b in json.loads(exports[0].stdout)["buckets"].values()) == 100
    db = tmp_path / "other.sqlite"
    assert cli(tmp_path, "--dbpath", str(db), "import", str(source)).returncode == 0
    csv_out = tmp_path / "out.csv"
    assert cli(tmp_path, "--dbpath", str(db), "export", "--format", "csv", "-o",
               str(csv_out)).returncode == 0
    assert csv_out.read_bytes().count(b"\r\n") == 101  # header and 100 events
    # A flag only the server has is refused before a command, with a clear message.
    refused = cli(tmp_path, "--port", "5601", "import", str(source))
    assert refused.returncode == 2 and "--port" in refused.stderr


def test_import_command_names_a_damaged_file(tmp_path: Path) -> None:
    bad = tmp_path / "export.json"
    bad.write_text('{"buckets": {"b": {"type": "t", "client": "c", "hostname": "h", "ev')
    result = cli(tmp_path, "import", str(bad), "--dbpath", str(tmp_path / "db.sqlite"))
    assert result.returncode == 1
    assert str(bad) in result.stderr and "nothing was imported" in result.stderr
    assert dump(tmp_path / "db.sqlite") == {"buckets": {}}


def _kill_when(proc: subprocess.Popen[str], marker: str, nth: int = 1) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if marker in line:
            nth -= 1
            if not nth:
                break
        assert time.monotonic() < deadline
    else:
        raise AssertionError(f"the import ended (exit {proc.wait(10)}) before its "
                             f"{marker!r} line came; nothing was left to interrupt")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_kill_9_midway_then_rerun_equals_a_clean_import(tmp_path: Path) -> None:
    source = tmp_path / "src" / "sqlite.db"
    source.parent.mkdir()
    big_rust_db(source, 300_000)
    db = tmp_path / "ours.sqlite"
    env = dict(os.environ, AW_BASE_DIR=str(tmp_path / "dirs"))
    for marker in ("reading", "writing"):
        proc = subprocess.Popen([sys.executable, "-m", "aw_server", "import", str(source),
                                 "--dbpath", str(db)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        _kill_when(proc, marker)
        assert proc.returncode == -signal.SIGKILL
    rerun = cli(tmp_path, "import", str(source), "--dbpath", str(db))
    assert rerun.returncode == 0, rerun.stderr
    assert "resumed" in rerun.stdout
    clean = tmp_path / "clean.sqlite"
    assert cli(tmp_path, "import", str(source), "--dbpath", str(clean)).returncode == 0
    assert dump(db) == dump(clean)
    assert not list(tmp_path.glob("ours.sqlite.import-*.sqlite"))


def test_export_command_json_range_and_csv(tmp_path: Path) -> None:
    db = tmp_path / "ours.sqlite"
    store = Datastore(db)
    api = ServerAPI(store)
    api.create_bucket("w", {"type": "currentwindow", "client": "c", "hostname": "h"})
    api.create_bucket("a", {"type": "afkstatus", "client": "c", "hostname": "h"})
    api.create_events("w", [{"timestamp": f"2024-01-0{d}T10:00:00Z", "duration": 30.5,
                             "data": {"app": "Ed, \"it\"\nor ✓", "title": t}}
                            for d, t in ((1, "42"), (2, ""), (3, "plain"))])
    api.create_events("a", [{"timestamp": "2024-01-02T10:00:00Z", "duration": 0,
                             "data": {"status": "afk", "bucket": True, "n": {"x": [1]}}}])
    store.close()
    out = tmp_path / "out.json"
    result = cli(tmp_path, "export", "--dbpath", str(db), "--since", "2024-01-02T00:00:00+00:00",
                 "--until", "2024-01-02T23:00:00+00:00", "-o", str(out))
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [e["timestamp"] for e in doc["buckets"]["w"]["events"]] == [
        "2024-01-02T10:00:00+00:00"]
    whole = cli(tmp_path, "export", "--dbpath", str(db), "--bucket", "w")
    assert list(json.loads(whole.stdout)["buckets"]) == ["w"]
    csv_out = tmp_path / "out.csv"
    assert cli(tmp_path, "export", "--dbpath", str(db), "--format", "csv", "-o",
               str(csv_out)).returncode == 0
    raw = csv_out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with open(csv_out, encoding="utf-8", newline="") as handle:
        rows = list(read_csv(handle))
    parsed = {(b, e["timestamp"]): e for b, e in rows}
    original = dump(db)["buckets"]
    assert len(rows) == 4
    for bucket_id, bucket in original.items():
        for event in bucket["events"]:
            assert parsed[(bucket_id, event["timestamp"])] == event


def test_csv_round_trip_in_memory(tmp_path: Path) -> None:
    store = Datastore(tmp_path / "db.sqlite")
    api = ServerAPI(store)
    api.create_bucket("b", {"type": "t", "client": "c", "hostname": "h"})
    values = ["true", "null", "", "{\"a\": 1}", "\"quoted\"", "x,y", "日本", 1, 2.5, False,
              None, [1, "a"], {"k": {"n": None}}]
    api.create_events("b", [{"timestamp": f"2024-01-01T00:00:{i:02d}Z", "duration": i / 4,
                             "data": {"v": v, "only": i} if i % 2 else {"v": v}}
                            for i, v in enumerate(values)])
    buffer = io.StringIO(newline="")
    assert write_csv(api, buffer) == len(values)
    buffer.seek(0)
    rows = [e for _, e in read_csv(buffer)]
    expected = [json.loads(t) for t in store.events.iter_json("b", with_ids=False)]
    assert rows == expected
    store.close()


def big_export(path: Path, events: int) -> None:
    """Three buckets, described first and listed newest first, as ActivityWatch exports:
    an import publishes them directly (`direct.py`) while it reads."""
    base = 1_600_000_000
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"buckets": {')
        for b in range(3):
            meta = {"id": f"w{b}", "created": "2020-09-13T12:26:40+00:00", "name": None,
                    "type": "currentwindow", "client": "c", "hostname": "h", "data": {}}
            out.write(("" if b == 0 else ", ") + f'"w{b}": ' + json.dumps(meta)[:-1]
                      + ', "events": [')
            out.write(", ".join(
                f'{{"timestamp": "{time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i))}'
                f'.{i % 7}00000+00:00", "duration": {i % 5}.5, "data": {{"app": "app{i % 13}", '
                f'"title": "title {i % 1000} \\u2713"}}}}'
                for i in range(events // 3 - 1, -1, -1)))
            out.write("]}")
        out.write("}}")


def test_kill_9_during_a_direct_import_then_rerun_equals_a_clean_import(
        tmp_path: Path) -> None:
    source = tmp_path / "export.json"
    big_export(source, 450_000)
    db = tmp_path / "ours.sqlite"
    env = dict(os.environ, AW_BASE_DIR=str(tmp_path / "dirs"))
    # Two interrupted runs, each killed at its first progress line: a resumed run may
    # report only once before it ends, so waiting for its second line raced the end.
    for _run in (1, 2):
        proc = subprocess.Popen([sys.executable, "-m", "aw_server", "import", str(source),
                                 "--dbpath", str(db)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        _kill_when(proc, "reading")
        assert proc.returncode == -signal.SIGKILL
    rerun = cli(tmp_path, "import", str(source), "--dbpath", str(db))
    assert rerun.returncode == 0, rerun.stderr
    assert "resumed" in rerun.stdout and "450,000 events added" in rerun.stdout
    clean = tmp_path / "clean.sqlite"
    assert cli(tmp_path, "import", str(source), "--dbpath", str(clean)).returncode == 0
    assert dump(db) == dump(clean)
    assert not list(tmp_path.glob("ours.sqlite.import-*.sqlite"))


def test_import_refuses_while_a_server_uses_the_database(server_process: ServerProcess,
                                                        tmp_path: Path) -> None:
    source = tmp_path / "export.json"
    big_export(source, 30)
    config = tmp_path / "port.toml"
    config.write_text(f"[server-testing]\nport = {server_process.port}\n")
    refused = cli(tmp_path, "import", str(source), "--testing", "--config", str(config),
                  "--dbpath", str(server_process.dbpath))
    assert refused.returncode == 4
    assert "aw-server is running on this database" in refused.stderr
    assert requests.get(f"{server_process.url}/api/0/buckets/", timeout=5).json() == {}
    # Configured for another port, it still finds the server through the database's lock.
    elsewhere = cli(tmp_path, "import", str(source), "--testing",
                    "--dbpath", str(server_process.dbpath))
    assert elsewhere.returncode == 4
    assert f"pid {server_process.proc.pid}" in elsewhere.stderr
    assert requests.get(f"{server_process.url}/api/0/buckets/", timeout=5).json() == {}
    # The server on that port has another database: this one is free to import into.
    other = cli(tmp_path, "import", str(source), "--testing", "--config", str(config),
                "--dbpath", str(tmp_path / "other.sqlite"))
    assert other.returncode == 0, other.stderr
    assert "30 events added" in other.stdout
