"""Work that may wait on the network or the disk, run off the Qt thread, and what the
tray tells the user about it.

The Qt thread starts a `Background` call and looks at `done` on its next tick; it never
joins, so the event loop (and the Supervisor's timer) keeps running while a peer is slow
to answer. Results reach the user as `Notice`s, which the tray shows as balloons (or as
a dialog when `error` asks for one) and `--no-gui` writes to the log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

from aw_server.errors import AWError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Notice:
    """One message for the user. `error` ones need acknowledging, so the tray shows a
    dialog for them instead of a balloon that may go unseen."""

    title: str
    text: str
    error: bool = False


def log_notice(notice: Notice) -> None:
    """Where notices go when nobody shows them (`--no-gui`, tests without a tray)."""
    logger.log(logging.ERROR if notice.error else logging.INFO, "%s: %s", notice.title,
               notice.text)


class Background(Generic[T]):
    """One call in a daemon thread; afterwards exactly one of `result`/`error` is set.

    Errors meant for users (`AWError`, an unreachable host, a disk problem) become their
    message; anything else is a bug, logged with its traceback and reported briefly.
    A call that recurs (once a minute) runs on its owner's `executor` instead: one
    long-lived thread, so it keeps one database connection rather than opening one in
    a new thread each time.
    """

    def __init__(self, name: str, call: Callable[[], T],
                 executor: Executor | None = None) -> None:
        self.name = name
        self.result: T | None = None
        self.error: str | None = None
        self.done = threading.Event()
        if executor is not None:
            executor.submit(self._run, call)
            return
        thread = threading.Thread(target=self._run, args=(call,), name=f"aw-qt-{name}",
                                  daemon=True)
        thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self.result = call()
        except AWError as exc:
            self.error = exc.message
        except (OSError, sqlite3.Error) as exc:  # requests' errors are OSErrors too
            self.error = str(exc) or type(exc).__name__
        except Exception as exc:
            logger.exception("%s failed", self.name)
            self.error = f"unexpected error ({type(exc).__name__}: {exc}); see the log"
        finally:
            self.done.set()

    @property
    def finished(self) -> bool:
        return self.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)
