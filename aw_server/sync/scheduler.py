"""The background schedule: a sync with every active peer every 5 minutes.

A peer that cannot be reached is retried with a doubling delay (up to an hour) so an
absent laptop costs one connection attempt per interval, not a stream of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

INTERVAL_S = 300.0
MAX_BACKOFF_S = 3600.0


class Scheduler:
    def __init__(self, peers: Callable[[], list[str]], sync: Callable[[str], bool], *,
                 interval: float = INTERVAL_S) -> None:
        """`sync(device_id)` runs one session and answers whether the peer was reached."""
        self.peers = peers
        self.sync = sync
        self.interval = interval
        self._stop = threading.Event()
        self._next: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._thread = threading.Thread(target=self._loop, name="aw-sync-scheduler",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(min(self.interval, 30.0)):
            now = time.monotonic()
            for device_id in self.peers():
                if self._stop.is_set():
                    return
                if now < self._next.get(device_id, 0.0):
                    continue
                try:
                    reached = self.sync(device_id)
                except Exception:
                    logger.exception("scheduled sync with %s failed", device_id)
                    reached = False
                delay = self.interval if reached else min(
                    MAX_BACKOFF_S, max(self.interval, self._delay.get(device_id, 0.0) * 2))
                self._delay[device_id] = delay
                self._next[device_id] = time.monotonic() + delay
