"""The start-up and shut-down both watcher commands share, once their settings are read.

Order matters: signal handlers first (a stop during start-up is honoured), then the
backend (a session that cannot be tracked exits with EXIT_UNSUPPORTED, which aw-qt shows
once instead of restarting), then the client, whose queue lock keeps a second copy from
running. Whatever happens in the loop, the queue is flushed and closed and the backend
released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, TypeVar

from watchers.client import Client, open_client
from watchers.queue import QueueLockedError
from watchers.runtime import EXIT_ERROR, EXIT_OK, EXIT_UNSUPPORTED, Stopper

logger = logging.getLogger(__name__)


class Backend(Protocol):
    def close(self) -> None: ...


class Loop(Protocol):
    def run(self) -> None: ...


B = TypeVar("B", bound=Backend)


def run_watcher(client_name: str, what: str, *, testing: bool, host: str | None,
                port: int | None, open_backend: Callable[[], B],
                unavailable: type[Exception], gone: type[Exception],
                make_loop: Callable[[B, Client, Stopper], Loop]) -> int:
    """Run one watcher to its end; `what` names what it tracks, for the log ("Window")."""
    stopper = Stopper()
    stopper.install_signal_handlers()
    try:
        backend = open_backend()
    except unavailable as exc:
        logger.error("%s tracking is unavailable: %s", what, exc)
        return EXIT_UNSUPPORTED
    try:
        client = open_client(client_name, testing, host, port)
    except QueueLockedError as exc:
        logger.error("%s is already running (%s)", client_name, exc)
        backend.close()
        return EXIT_ERROR
    code = EXIT_OK
    try:
        make_loop(backend, client, stopper).run()
    except gone as exc:  # the session ended under us
        logger.error("Stopping: %s", exc)
        code = EXIT_ERROR
    finally:
        left = client.close()
        backend.close()
        logger.info("%s stopped (%s); %d heartbeats left queued", client_name,
                    stopper.reason or "parent gone or display closed", left)
    return code
