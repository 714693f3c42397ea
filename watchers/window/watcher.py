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
from watchers.loop import PollLoop
from watchers.process import ParentWatch, Stopper
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


class WindowWatcher(PollLoop[WindowBackend]):
    client_name = CLIENT_NAME
    event_type = EVENT_TYPE

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
        super().__init__(backend, client, stopper=stopper, clock=clock, parent=parent)
        self.settings = settings
        self.privacy = privacy
        self._last_data: dict[str, str] | None = None
        self._last_us = 0
        self._changed_at: int | None = None  # a change the backend woke us for

    def describe(self) -> str:
        return f"poll {self.settings.poll_time:.1f} s"

    def cycle(self) -> None:
        """Poll, then wait for the schedule or for a change the backend reports."""
        poll = self.settings.poll_time
        self.poll_once(self._changed_at)
        self._changed_at = None
        polled_at = self.clock.monotonic()
        if polled_at >= self.next_poll:
            self.next_poll += poll
            if self.next_poll < polled_at:  # suspended or starved: restart the schedule
                self.next_poll = polled_at + poll
        while not self.stopper.is_set():
            remaining = self.next_poll - self.clock.monotonic()
            if remaining <= 0:
                break
            self._changed_at = self.backend.wait(remaining, self.stopper)
            if self._changed_at is not None:
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
