"""The database upgrade of a new version, run before the embedded server starts.

Upgrading a long history to a new schema takes a while (about 6 s per million events,
once). Inside the server's start it would leave the user with no icon and no window
for that long. aw-qt therefore asks first (`pending_upgrade`), runs the upgrade on a
thread here while the Qt side shows its progress (qt/upgrade_window.py), and then
starts the server as usual. Quitting half-way stops after the batch under way; the
upgrade goes on from there at the next start. A failed upgrade is logged and left to
the server's start, which reports it the way it reports any database it cannot open.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from aw_qt.server import embedded_config, local_url, probe
from aw_server.datastore.upgrade import upgrade, upgrade_pending
from aw_server.file_lock import Locked, database_lock

logger = logging.getLogger(__name__)

# After Quit, how long to wait for the batch under way (a batch is ~0.3 s).
CANCEL_WAIT_S = 30.0


class UpgradeCancelled(Exception):
    """Raised from the progress callback: the upgrade stops after the committed batch."""


class DataUpgrade:
    """One upgrade of the server's database file, on a thread, with its progress."""

    def __init__(self, path: Path, *, private_dir: bool = False,
                 durability: str = "normal") -> None:
        self.path = path
        self._private_dir = private_dir
        self._durability = durability
        self._lock = threading.Lock()
        self._copied = 0
        self._total = 0
        self._cancel = threading.Event()
        self.finished = threading.Event()
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        logger.info("upgrading %s to this version's schema before the server starts",
                    self.path)
        self._thread = threading.Thread(target=self._run, name="aw-data-upgrade", daemon=True)
        self._thread.start()

    def _progress(self, copied: int, total: int) -> None:
        with self._lock:
            self._copied, self._total = copied, total
        if self._cancel.is_set():
            raise UpgradeCancelled

    def _run(self) -> None:
        try:
            lock = database_lock(self.path)  # as the server would: one writer per file
        except Locked as exc:
            self.error = f"{self.path} is in use by another process (pid {exc.pid or '?'})"
            logger.warning("not upgrading: %s", self.error)
            self.finished.set()
            return
        try:
            upgrade(self.path, self._progress, durability=self._durability,
                    private_dir=self._private_dir)
        except UpgradeCancelled:
            logger.info("upgrade stopped by quitting; it goes on at the next start")
        except Exception as exc:  # the server's start reports it again, with its advice
            self.error = str(exc)
            logger.exception("upgrading %s failed", self.path)
        finally:
            lock.release()
            self.finished.set()

    def cancel(self) -> None:
        """Stop after the batch under way and wait for it (it is committed); before
        `start`, the upgrade stops after its first batch."""
        self._cancel.set()
        if self._thread is not None:
            self.finished.wait(CANCEL_WAIT_S)

    @property
    def fraction(self) -> float:
        with self._lock:
            return self._copied / self._total if self._total else 0.0

    def text(self) -> str:
        with self._lock:
            copied, total = self._copied, self._total
        done = (f": {int(100 * copied / total)} % ({copied:,} of {total:,} events)"
                if total else "")
        return (f"Upgrading your data for this version of ActivityWatch{done}. "
                "This happens once; tracking starts when it is done.")


def pending_upgrade(*, testing: bool, port: int | None) -> DataUpgrade | None:
    """The upgrade the embedded server's database needs before it starts, if any.

    None when the file is current, when a server already answers on the port (that
    server owns the file; aw-qt will use it and not touch its database) or when the
    config cannot be read (the server's start reports that)."""
    try:
        config = embedded_config(testing=testing, port=port)
    except ValueError:
        return None
    if probe(local_url(config)):
        return None
    path = config.database_path()
    if not upgrade_pending(path):
        return None
    return DataUpgrade(path, private_dir=config.dbpath is None, durability=config.durability)
