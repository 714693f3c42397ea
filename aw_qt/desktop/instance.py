"""One aw-qt per profile: an OS file lock in the data folder, held while we run.

The OS drops the lock when the process dies, however it dies, so a crash never
leaves a stale lock behind. The file holds the owner's pid for the message a second
start prints.
"""

from __future__ import annotations

from pathlib import Path

from aw_server.file_lock import FileLock, Locked


class AlreadyRunning(Exception):
    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(f"aw-qt is already running for this profile (pid {pid or '?'}, "
                         f"lock {path}); not starting a second one")
        self.pid = pid


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(path)

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except Locked as exc:
            raise AlreadyRunning(self.path, exc.pid) from None

    def release(self) -> None:
        self._lock.release()
