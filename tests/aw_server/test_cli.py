"""The `aw-server` command as a user runs it: real subprocesses, real signals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from aw_server import __version__
from tests.support.client import HttpClient
from tests.support.servers import ServerProcess, free_port, start_server_process


def run_cli(tmp_path: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AW_BASE_DIR=str(tmp_path / "dirs"))
    return subprocess.run([sys.executable, "-m", "aw_server", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, check=False)


def test_version_flag(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_server_process_serves_and_exits_cleanly_on_sigterm(server_process: ServerProcess) -> None:
    with HttpClient(server_process.url) as http:
        http.create_bucket("b")
        assert http.get("/api/0/info").json()["testing"] is True
    assert server_process.stop(signal.SIGTERM) == 0
    assert "aw-server stopped" in server_process.log.read_text()


def test_sigint_also_stops_cleanly(server_process: ServerProcess) -> None:
    assert server_process.stop(signal.SIGINT) == 0


def test_first_run_writes_commented_default_config(tmp_path: Path) -> None:
    proc = start_server_process(tmp_path)
    proc.stop()
    config = tmp_path / "dirs" / "config" / "aw-server" / "aw-server.toml"
    text = config.read_text()
    assert "[server]" in text and '#port = 5600' in text and "[auth]" in text


def test_config_file_port_is_used(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "custom.toml"
    config.write_text(f'[server-testing]\nport = {port}\n')
    env = dict(os.environ, AW_BASE_DIR=str(tmp_path / "dirs"))
    proc = subprocess.Popen([sys.executable, "-m", "aw_server", "--testing", "--config",
                             str(config), "--dbpath", str(tmp_path / "db.sqlite")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from tests.support.servers import wait_until_up

        log = tmp_path / "none.log"
        log.write_text("")
        wait_until_up(f"http://127.0.0.1:{port}", proc, log)
        assert requests.get(f"http://127.0.0.1:{port}/api/0/info", timeout=5).ok
    finally:
        proc.terminate()
        proc.wait(15)


def test_refuses_non_loopback_without_allow_remote(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--testing", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr


def test_corrupt_database_exits_with_message_and_keeps_file(tmp_path: Path) -> None:
    db = tmp_path / "broken.sqlite"
    garbage = b"\x00garbage" * 500
    db.write_bytes(garbage)
    result = run_cli(tmp_path, "--testing", "--port", "0", "--dbpath", str(db))
    assert result.returncode == 3
    assert "left untouched" in result.stderr
    assert db.read_bytes() == garbage


def test_port_in_use_is_a_clear_error(server_process: ServerProcess, tmp_path: Path) -> None:
    result = run_cli(tmp_path / "second", "--testing", "--port", str(server_process.port),
                     "--dbpath", str(tmp_path / "other.sqlite"))
    assert result.returncode == 4
    assert "Is another server already running" in result.stderr


def test_a_second_server_on_the_same_database_is_refused(server_process: ServerProcess,
                                                        tmp_path: Path) -> None:
    # Another port, the same file: it would write past the first one's in-memory state.
    result = run_cli(tmp_path / "second", "--testing", "--port", str(free_port()),
                     "--dbpath", str(server_process.dbpath))
    assert result.returncode == 3
    assert "in use by another aw-server or import" in result.stderr
    assert f"pid {server_process.proc.pid}" in result.stderr
    bucket = requests.post(f"{server_process.url}/api/0/buckets/still-mine", timeout=5, json={
        "client": "test", "type": "x", "hostname": "h"})
    assert bucket.status_code == 200


def test_acknowledged_heartbeats_survive_kill_9(tmp_path: Path) -> None:
    proc = start_server_process(tmp_path)
    acknowledged = 0
    with HttpClient(proc.url) as http:
        http.create_bucket("b")
        for i in range(300):
            # Alternate data so every other beat inserts a row and the rest merge.
            body = {"timestamp": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z", "duration": 0,
                    "data": {"n": i // 2}}
            response = http.post("/api/0/buckets/b/heartbeat?pulsetime=1", json=body)
            assert response.status_code == 200
            acknowledged += 1
    proc.kill()
    with sqlite3.connect(proc.dbpath) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT start, end, text FROM event JOIN event_data d "
                            "ON d.id = data_id ORDER BY start").fetchall()
    assert acknowledged == 300
    assert len(rows) == 150
    assert [r[2] for r in rows] == [f'{{"n":{i}}}' for i in range(150)]
    assert all(end - start == 1_000_000 for start, end, _ in rows)
