"""aw-watcher-window: one heartbeat per poll with the focused window's app and title.

Differences from ActivityWatch, both for accuracy: when the window changes, the
previous window's event is first extended to the moment the change was seen (a
heartbeat with the old data), so the timeline has no gap of up to one poll at every
switch; and backends that can report changes (X11) wake the loop at once, so a switch
is seen within milliseconds rather than at the next poll. Both are bounded by the
pulsetime: after a pause longer than it (suspend) nothing is extended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from watchers.client import Client
from watchers.heartbeat import Clock, Event, s_to_us, window_pulsetime
from watchers.runtime import ParentWatch, Stopper
from watchers.window.backends import WindowBackend, WindowInfo

logger = logging.getLogger(__name__)

CLIENT_NAME = "aw-watcher-window"
EVENT_TYPE = "currentwindow"
# Change-triggered polls are at least this far apart (s), so a title that changes
# many times a second (a progress counter) costs at most a few polls a second. The
# switch is still stamped when it was first seen, so the delay costs no accuracy.
MIN_EVENT_GAP = 0.25

DEFAULT_CONFIG = """
[aw-watcher-window]
exclude_title = false
exclude_titles = []
exclude_apps = []
poll_time = 1.0
strategy_macos = "swift"
"""


@dataclass(frozen=True)
class WindowSettings:
    poll_time: float = 1.0

    def __post_init__(self) -> None:
        if self.poll_time <= 0:
            raise ValueError("poll_time must be positive")

    @property
    def pulsetime(self) -> float:
        return window_pulsetime(self.poll_time)


class Privacy(Protocol):
    """`PrivacyRules`, or `SharedPrivacy` (those rules plus the server's `privacy` setting)."""

    def apply(self, window: WindowInfo) -> dict[str, str]: ...


class WindowWatcher:
    def __init__(
        self,
        settings: WindowSettings,
        backend: WindowBackend,
        privacy: Privacy,
        client: Client,
        *,
        stopper: Stopper,
        clock: Clock,
        parent: ParentWatch | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.privacy = privacy
        self.client = client
        self.stopper = stopper
        self.clock = clock
        self.parent = parent
        self.bucket_id = client.bucket_id()
        self._last_data: dict[str, str] | None = None
        self._last_us = 0

    def run(self) -> None:
        self.client.register_bucket(self.bucket_id, EVENT_TYPE)
        self.client.start()
        logger.info("aw-watcher-window started (backend %s, poll %.1f s)",
                    self.backend.name, self.settings.poll_time)
        poll = self.settings.poll_time
        next_poll = self.clock.monotonic()
        changed_at: int | None = None
        while not self.stopper.is_set():
            if self.parent is not None and not self.parent.parent_alive():
                logger.info("Parent process died; stopping")
                break
            self.poll_once(changed_at)
            changed_at = None
            polled_at = self.clock.monotonic()
            if polled_at >= next_poll:
                next_poll += poll
                if next_poll < polled_at:  # suspended or starved: restart the schedule
                    next_poll = polled_at + poll
            while not self.stopper.is_set():
                remaining = next_poll - self.clock.monotonic()
                if remaining <= 0:
                    break
                changed_at = self.backend.wait(remaining, self.stopper)
                if changed_at is not None:
                    # A change: look now, but not more often than MIN_EVENT_GAP.
                    gap = MIN_EVENT_GAP - (self.clock.monotonic() - polled_at)
                    if gap > 0:
                        self.stopper.wait(gap)
                    break

    def poll_once(self, changed_at: int | None = None) -> None:
        """One look at the focused window; `changed_at` stamps a change the backend saw.

        A backend that reports when a change happened lets the switch be recorded at
        that moment instead of after the settling and scheduling delay.
        """
        window = self.backend.current_window()
        now = self.clock.now_us()
        if changed_at is not None and self._last_us < changed_at < now:
            now = changed_at
        if window is None:
            return  # could not tell this time; the next poll will
        data = self.privacy.apply(window)
        pulsetime = self.settings.pulsetime
        previous = self._last_data
        if (previous is not None and previous != data
                and now - self._last_us <= s_to_us(pulsetime)):
            # Close the previous window's event at the moment the switch was seen.
            self.client.heartbeat(self.bucket_id, Event(now, 0, previous), pulsetime)
        if data != previous:
            logger.debug("Window: %s", data)
        self.client.heartbeat(self.bucket_id, Event(now, 0, data), pulsetime)
        self._last_data = data
        self._last_us = now
