"""One aw-qt per profile: an OS file lock in the data folder, held while we run.

The OS drops the lock when the process dies, however it dies, so a crash never
leaves a stale lock behind. The file holds the owner's pid for the message a second
start prints.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO


class AlreadyRunning(Exception):
    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(f"aw-qt is already running for this profile (pid {pid or '?'}, "
                         f"lock {path}); not starting a second one")
        self.pid = pid


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            pid = handle.read().strip()
            handle.close()
            raise AlreadyRunning(self.path, pid) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

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
