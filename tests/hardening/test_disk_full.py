"""Disk full: writes fail with a clear 507, reads keep working, writes resume by themselves
once space returns. Uses a real size-limited filesystem (tmpfs), so it needs root."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client import HttpClient
from tests.support.servers import start_server_process

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_gives_507_keeps_reads_and_recovers(tmp_path: Path, small_fs: Path) -> None:
    # The database lives on the small filesystem; logs and config elsewhere.
    proc = start_server_process(tmp_path / "srv", db=small_fs / "db.sqlite")
    try:
        with HttpClient(proc.url) as http:
            http.create_bucket("b")
            padding = "x" * 4000
            statuses: list[int] = []
            acknowledged = 0
            for i in range(2000):  # bounded: 1 MiB fills long before this
                response = http.post("/api/0/buckets/b/events", json={
                    "timestamp": f"2024-01-01T00:00:{i % 60:02d}Z", "duration": 1,
                    "data": {"i": i, "pad": padding}})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged += 1
                else:
                    assert response.status_code == 507, response.text
                    assert "disk" in response.json()["message"]
                    break
            assert statuses[-1] == 507, "the filesystem never filled up"
            # Reads still work while the disk is full.
            assert http.get("/api/0/buckets/b/events/count").json() == acknowledged
            assert http.get("/api/0/info").status_code == 200
            # Space returns: tracking resumes without a restart.
            subprocess.run(["mount", "-o", "remount,size=16m", str(small_fs)], check=True)
            response = http.post("/api/0/buckets/b/heartbeat?pulsetime=1", json={
                "timestamp": "2024-02-01T00:00:00Z", "data": {"after": True}})
            assert response.status_code == 200, response.text
            assert http.get("/api/0/buckets/b/events/count").json() == acknowledged + 1
    finally:
        proc.stop()
