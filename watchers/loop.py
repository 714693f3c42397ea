"""What both watchers' poll loops share: their bucket, starting, and when to stop.

A watcher polls its backend on a schedule and hands heartbeats to the client until it
is asked to stop (SIGTERM/SIGINT through the `Stopper`) or its parent has gone: the
watchers exit when whoever started them dies, as ActivityWatch's do (aw-watcher-afk#77),
so an aw-qt crash does not leave orphans recording forever. A subclass says what one
cycle is (one poll, then the wait until the next) and how it describes its settings.
"""

from __future__ import annotations

import logging
from typing import ClassVar, Generic, Protocol, TypeVar

from watchers.client import Client
from watchers.heartbeat import Clock
from watchers.process import ParentWatch, Stopper

logger = logging.getLogger(__name__)


class NamedBackend(Protocol):
    name: str


B = TypeVar("B", bound=NamedBackend)


class PollLoop(Generic[B]):
    client_name: ClassVar[str]
    event_type: ClassVar[str]

    def __init__(self, backend: B, client: Client, *, stopper: Stopper, clock: Clock,
                 parent: ParentWatch | None) -> None:
        self.backend = backend
        self.client = client
        self.stopper = stopper
        self.clock = clock
        self.parent = parent
        self.bucket_id = client.bucket_id()
        self.next_poll = 0.0  # monotonic seconds; set when the loop runs

    def describe(self) -> str:
        """The settings worth a line in the log at start, after the backend's name."""
        raise NotImplementedError

    def cycle(self) -> None:
        """One poll, then the wait until the next (cut short by a stop)."""
        raise NotImplementedError

    def run(self) -> None:
        """Poll on a fixed schedule (no drift) until stopped or orphaned."""
        self.client.register_bucket(self.bucket_id, self.event_type)
        self.client.start()
        logger.info("%s started (backend %s, %s)", self.client_name, self.backend.name,
                    self.describe())
        self.next_poll = self.clock.monotonic()
        while not self.stopper.is_set():
            if self.parent is not None and not self.parent.parent_alive():
                logger.info("Parent process died; stopping")
                break
            self.cycle()
