"""aw-watcher-afk: turns "seconds since the last input" into afk/not-afk heartbeats.

`AfkStateMachine` is the whole decision, pure and clock-free: given the time and the
idle seconds of one poll it returns the heartbeats to send. It follows ActivityWatch
(`aw_watcher_afk/afk.py`): a transition is recorded at the moment of the last input,
not at the poll that noticed it, by sending the old state up to `last_input` and the
new state from `last_input + 1 ms`; an AFK event carries `duration = idle seconds` so
it starts at the last input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from watchers.afk.backends import IdleBackend
from watchers.client import Client
from watchers.heartbeat import Clock, Event, afk_pulsetime, s_to_us
from watchers.loop import PollLoop
from watchers.process import ParentWatch, Stopper

logger = logging.getLogger(__name__)

CLIENT_NAME = "aw-watcher-afk"
EVENT_TYPE = "afkstatus"
ONE_MS = 1000  # µs

DEFAULT_CONFIG = """
[aw-watcher-afk]
timeout = 180
poll_time = 5

[aw-watcher-afk-testing]
timeout = 20
poll_time = 1
"""


@dataclass(frozen=True)
class AfkSettings:
    """`timeout`: seconds without input until AFK; `poll_time`: seconds between looks."""

    timeout: float = 180.0
    poll_time: float = 5.0

    def __post_init__(self) -> None:
        if self.poll_time <= 0:
            raise ValueError("poll_time must be positive")
        if self.timeout < self.poll_time:
            # ActivityWatch asserts the same: a shorter timeout could never be observed.
            raise ValueError("timeout must be at least poll_time")

    @property
    def pulsetime(self) -> float:
        return afk_pulsetime(self.timeout, self.poll_time)


def _status(afk: bool) -> dict[str, str]:
    return {"status": "afk" if afk else "not-afk"}


class AfkStateMachine:
    """The afk/not-afk decision of one poll; starts not-AFK, as ActivityWatch does."""

    def __init__(self, settings: AfkSettings) -> None:
        self.settings = settings
        self.afk = False
        self._last_input: int | None = None

    def last_input(self, now_us: int, idle_seconds: float) -> int:
        """`now - idle`, never moving backwards.

        The idle counter and the wall clock are read a few µs apart, so the computed
        moment of the last input jitters by milliseconds between polls without input.
        Letting it step back would make a heartbeat start before the cached event and
        split it into a new, tiny event. Real input only ever moves it forward. If the
        wall clock itself jumped back, the old value is in the future and is dropped.
        """
        candidate = now_us - s_to_us(idle_seconds)
        previous = self._last_input
        if previous is not None and candidate < previous <= now_us:
            candidate = previous
        self._last_input = candidate
        return candidate

    def step(self, now_us: int, idle_seconds: float) -> list[Event]:
        """Heartbeats for one poll, in the order they must be sent."""
        timeout = self.settings.timeout
        last_input = self.last_input(now_us, idle_seconds)
        idle_us = now_us - last_input
        if self.afk and idle_seconds < timeout:
            logger.info("No longer AFK")
            self.afk = False
            # The not-afk event starts 1 ms after the input; a later poll that sees no
            # newer input must not stamp a heartbeat before that start (it would begin
            # a second not-afk event), so the last input moves to the event's start.
            self._last_input = last_input + ONE_MS
            return [
                Event(last_input, 0, _status(True)),
                Event(last_input + ONE_MS, 0, _status(False)),
            ]
        if not self.afk and idle_seconds >= timeout:
            logger.info("Became AFK")
            self.afk = True
            return [
                Event(last_input, 0, _status(False)),
                Event(last_input + ONE_MS, idle_us, _status(True)),
            ]
        if self.afk:
            # +1 ms as in ActivityWatch: the heartbeat must not start before the AFK event.
            return [Event(last_input + ONE_MS, idle_us, _status(True))]
        return [Event(last_input, 0, _status(False))]


class AfkWatcher(PollLoop[IdleBackend]):
    """The poll loop: read idle time, run the state machine, hand heartbeats to the client."""

    client_name = CLIENT_NAME
    event_type = EVENT_TYPE

    def __init__(
        self,
        settings: AfkSettings,
        backend: IdleBackend,
        client: Client,
        *,
        stopper: Stopper,
        clock: Clock,
        parent: ParentWatch | None = None,
    ) -> None:
        super().__init__(backend, client, stopper=stopper, clock=clock, parent=parent)
        self.settings = settings
        self.machine = AfkStateMachine(settings)

    def describe(self) -> str:
        return f"timeout {self.settings.timeout:.0f} s, poll {self.settings.poll_time:.1f} s"

    def cycle(self) -> None:
        self.poll_once()
        self.next_poll += self.settings.poll_time
        now = self.clock.monotonic()
        self.next_poll = max(self.next_poll, now)  # suspended or starved: resume from now
        self.stopper.wait(self.next_poll - now)

    def poll_once(self) -> None:
        idle = self.backend.seconds_since_input()
        now = self.clock.now_us()
        logger.debug("Seconds since last input: %.3f", idle)
        for event in self.machine.step(now, idle):
            self.client.heartbeat(self.bucket_id, event, self.settings.pulsetime)
