"""The background schedule: a sync with every active peer every 5 minutes.

After a failure the next try waits longer, doubling each time (with jitter, so devices
that failed together do not retry together): up to an hour for a peer that cannot be
reached (an absent laptop costs one connection attempt per interval, not a stream of
them), up to 12 hours for a failure that trying again cannot fix by itself (refused or
unverifiable data, a changed key, an incompatible version) — those wait for the user,
who sees them on the Sync page and in the tray. Any sync, scheduled or not, tells the
schedule how it ended (`note`), so a successful "Sync now" resets the backoff.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

INTERVAL_S = 300.0
MAX_BACKOFF_S = 3600.0
MAX_STUCK_BACKOFF_S = 12 * 3600.0
# Outcomes of one session, as `sync()` reports them.
OK, UNREACHABLE, STUCK = "ok", "unreachable", "stuck"
_TRANSIENT = {"unreachable", "StorageUnavailable", "Conflict", "clock", "replay"}


def outcome_of(error_code: str | None) -> str:
    """How a session that ended with `error_code` (None: success) should be retried."""
    if error_code is None:
        return OK
    return UNREACHABLE if error_code in _TRANSIENT else STUCK


class Scheduler:
    def __init__(self, peers: Callable[[], list[str]], sync: Callable[[str], str], *,
                 interval: float = INTERVAL_S, rng: random.Random | None = None) -> None:
        """`sync(device_id)` runs one session and answers its outcome (`outcome_of`)."""
        self.peers = peers
        self.sync = sync
        self.interval = interval
        self.rng = rng or random.Random()
        self._stop = threading.Event()
        self._next: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="aw-sync-scheduler",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def backoff(self, device_id: str, outcome: str) -> float:
        """The backoff after a session ended so (before jitter): doubling, capped."""
        if outcome == OK:
            return 0.0
        cap = MAX_BACKOFF_S if outcome == UNREACHABLE else MAX_STUCK_BACKOFF_S
        return min(cap, max(self.interval, self._delay.get(device_id, 0.0) * 2))

    def note(self, device_id: str, outcome: str) -> float:
        """Record how a session ended; answers the wait before the next scheduled one."""
        with self._lock:
            backoff = self._delay[device_id] = self.backoff(device_id, outcome)
            wait = self.interval if not backoff else \
                backoff / 2 + self.rng.uniform(0, backoff / 2)
            self._next[device_id] = time.monotonic() + wait
            return wait

    def due(self, device_id: str) -> bool:
        with self._lock:
            return time.monotonic() >= self._next.get(device_id, 0.0)

    def _loop(self) -> None:
        while not self._stop.wait(min(self.interval, 30.0)):
            for device_id in self.peers():
                if self._stop.is_set():
                    return
                if not self.due(device_id):
                    continue
                try:
                    outcome = self.sync(device_id)
                except Exception:
                    logger.exception("scheduled sync with %s failed", device_id)
                    outcome = STUCK
                self.note(device_id, outcome)
