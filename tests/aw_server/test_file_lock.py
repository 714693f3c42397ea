"""An OS file lock: one holder at a time, named in the refusal, gone with its process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aw_server.file_lock import FileLock, Locked, database_lock, database_lock_path

HOLD = ("import sys, time\nfrom pathlib import Path\nfrom aw_server.file_lock import FileLock\n"
        "lock = FileLock(Path(sys.argv[1])).acquire()\nprint('held', flush=True)\ntime.sleep(60)")


def holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"
    proc = holder(path)
    try:
        with pytest.raises(Locked) as refused:
            FileLock(path).acquire()
        assert refused.value.pid == str(proc.pid)
    finally:
        proc.kill()
        proc.wait(10)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"
    proc = holder(path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    lock = FileLock(path).acquire()
    lock.release()
    FileLock(path).acquire().release()  # released means free again


def test_the_database_lock_sits_beside_the_database_and_is_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "aw-server.sqlite"
    lock = database_lock(db)
    try:
        assert database_lock_path(db) == tmp_path / "data" / "aw-server.sqlite.lock"
        assert database_lock_path(db).stat().st_mode & 0o077 == 0
        assert (tmp_path / "data").stat().st_mode & 0o077 == 0
        with pytest.raises(Locked):
            database_lock(db)
    finally:
        lock.release()
