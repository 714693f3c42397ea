"""An OS lock on a file, held for as long as a process uses what the file guards.

The OS drops the lock when the process ends, however it ends, so a crash never leaves a
stale lock behind. The file holds the owner's pid, for the message a refused second
user prints. Used for the database a server writes to (`database_lock`: a second
server or an `aw-server import` on the same file would write past the first one's
in-memory state) and by aw-qt for its one instance per profile.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO


class Locked(Exception):
    """Another process holds the lock; `pid` is what its file says (may be empty)."""

    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(f"{path} is locked by process {pid or '?'}")
        self.path = path
        self.pid = pid


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> FileLock:
        """Take the lock or raise `Locked` at once (never waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a data folder
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            pid = handle.read().strip()
            handle.close()
            raise Locked(self.path, pid) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None


def _lock(handle: IO[str]) -> None:
    if os.name == "nt":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def database_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def database_lock(database: Path) -> FileLock:
    """The lock a process writing to `database` holds: `Locked` if another one does."""
    return FileLock(database_lock_path(database)).acquire()
