"""Scheduled backups: a JSON export (ActivityWatch's format plus our settings) written
into a chosen folder every day or week, keeping the newest N.

Each file is written under a temporary name in the same folder and renamed into place,
so a crash or full disk never leaves a truncated `aw-backup-YYYY-MM-DD.json` behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aw_server.api import ServerAPI

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^aw-backup-(\d{4}-\d{2}-\d{2})\.json$")
PERIOD_DAYS = {"daily": 1, "weekly": 7}


def backup_dates(folder: Path) -> list[date]:
    """Dates of the backups in the folder, oldest first."""
    found = []
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            match = _NAME.match(entry.name)
            if match:
                with contextlib.suppress(ValueError):
                    found.append(date.fromisoformat(match.group(1)))
    return sorted(found)


class BackupScheduler:
    def __init__(self, api: ServerAPI, folder: Path, *, every: str = "daily", keep: int = 7,
                 clock: Callable[[], datetime] = datetime.now,
                 check_interval_s: float = 600.0) -> None:
        if every not in PERIOD_DAYS:
            raise ValueError(f"backup 'every' must be one of {sorted(PERIOD_DAYS)}")
        self.api = api
        self.folder = folder
        self.every = every
        self.keep = max(1, keep)
        self.clock = clock
        self.check_interval_s = check_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self) -> bool:
        existing = backup_dates(self.folder)
        if not existing:
            return True
        return (self.clock().date() - existing[-1]).days >= PERIOD_DAYS[self.every]

    def run_once(self) -> Path:
        """Write today's backup now (replacing one of the same day) and prune old ones."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"aw-backup-{self.clock().date().isoformat()}.json"
        fd, tmp = tempfile.mkstemp(prefix=".aw-backup-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for chunk in self.api.export_chunks(include_settings=True):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        self.prune()
        logger.info("backup written to %s", target)
        return target

    def prune(self) -> list[Path]:
        removed = []
        dates = backup_dates(self.folder)
        for old in dates[: max(0, len(dates) - self.keep)]:
            path = self.folder / f"aw-backup-{old.isoformat()}.json"
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        return removed

    def check(self) -> Path | None:
        if not self.due():
            return None
        try:
            return self.run_once()
        except OSError as exc:
            logger.error("backup into %s failed: %s", self.folder, exc)
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self.check_interval_s)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="aw-backup", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
