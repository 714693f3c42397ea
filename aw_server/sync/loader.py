"""Load device sync only when it is needed.

Sync brings in `cryptography`, `spake2`, `zeroconf` and `requests`: about 15 MiB of
resident memory and 150 ms of start-up, which a server with no paired device (most of
them) would carry for nothing. The loader builds the service when a device is already
paired at start, or on the first call to the sync API or `Server.sync`. So this module
must import nothing of sync itself but under TYPE_CHECKING.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from aw_server.datastore.store import Datastore

if TYPE_CHECKING:
    from aw_server.sync.local import ApplyFaults
    from aw_server.sync.service import SyncService

logger = logging.getLogger(__name__)

# The scheduler's own default (sync/scheduler.py INTERVAL_S), not imported from there:
# this module must stay free of sync imports.
DEFAULT_INTERVAL_S = 300.0


class SyncLoader:
    def __init__(self, store: Datastore, *, hostname: str, testing: bool,
                 db_path: Path | str | None, default_port: int | None = None,
                 interval: float | None = DEFAULT_INTERVAL_S,
                 faults: ApplyFaults | None = None) -> None:
        """The service's arguments, kept until it is built (see `SyncService`)."""
        self._store = store
        self._hostname = hostname
        self._testing = testing
        self._db_path = db_path
        self._default_port = default_port
        self._interval = interval
        self._faults = faults
        self._lock = threading.Lock()
        self._service: SyncService | None = None
        self._unavailable = False
        self._running = False

    @property
    def loaded(self) -> bool:
        return self._service is not None

    def get(self) -> SyncService | None:
        """The service (started if the server is running), or None if it cannot load."""
        with self._lock:
            if self._service is None and not self._unavailable:
                try:
                    from aw_server.sync.service import SyncService
                except ImportError as exc:  # `cryptography` or `spake2` not installed
                    logger.warning("device sync is unavailable: %s", exc)
                    self._unavailable = True
                    return None
                self._service = SyncService(self._store, hostname=self._hostname,
                                            testing=self._testing, db_path=self._db_path,
                                            default_port=self._default_port,
                                            interval=self._interval, faults=self._faults)
                if self._running:
                    self._service.start()
            return self._service

    def start(self) -> None:
        """Called when the server starts serving: load now only if a device is paired."""
        with self._lock:
            self._running = True
            service = self._service
        if service is not None:
            service.start()
        elif self._store.trust.peers():
            self.get()

    def stop(self) -> None:
        with self._lock:
            self._running = False
            service = self._service
        if service is not None:
            service.stop()
