"""Queries run in a worker process, so a dashboard never slows the watchers down.

A query is seconds of pure Python. In the server's own process it holds the interpreter
lock in long stretches, and every heartbeat needs that lock a dozen times: with a 30-day
summary running, heartbeats' p99 latency went from ~25 ms to ~80 ms. In a worker it
holds only its own lock, and SQLite in WAL mode lets it read while the server writes.

The worker starts on the first query (an idle server stays small) and stops after
`IDLE_S` without one. It opens the same database file read-only in spirit (it never
writes) and refreshes its bucket list before each query. The worker receives a program
the server has already parsed (its syntax tree) and only the periods the server's cache
could not answer, with the change markers of every bucket; the query service keeps what
the worker computed under those markers (see service.py).

The pool does not know how to open the database: it is given a picklable `opener` (the
server passes `functools.partial(QueryStore, path)`), which keeps this package free of
storage imports. The worker imports the opener's module to unpickle it: an opener
defined in `serve.py` would load Flask and waitress there too (+11 MiB per worker).
For the same reason the worker is started without the parent's main script: a spawned
child runs the script it was started from (under `__mp_main__`) before anything else,
and the `aw-qt` command's script imports the tray, the server, Flask and waitress, 270
modules no query uses (see `_spawned_without_main`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from aw_server import errors
from aw_server.errors import AWError, QueryTooExpensive, StorageUnavailable
from aw_server.models import BucketInfo, Event, EventSource

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from aw_server.event_table import EventTable
    from aw_server.query.ast import Program
    from aw_server.query.execute import PeriodResult
    from aw_server.query.limits import QueryLimits
    from aw_server.query.program import Period

logger = logging.getLogger(__name__)

IDLE_S = 300.0
# Beyond the query's own time budget: the worker's start-up and the answer's transfer.
GRACE_S = 20.0


class WorkerSource(EventSource, Protocol):
    """The worker's query source: an `EventSource` with columnar reads."""

    def event_table(self, bucket_id: str, start_us: int, end_us: int,
                    rows_hint: int | None = None) -> EventTable: ...


class BucketView(Protocol):
    """Re-reads the bucket list, to see buckets the server created since the last query."""

    def reload(self) -> None: ...


class WorkerStore(Protocol):
    """What the worker needs of the database it opens (a `Datastore`): its query source
    and its in-memory bucket view."""

    @property
    def source(self) -> WorkerSource: ...

    @property
    def cache(self) -> BucketView: ...


class _MarkedSource:
    """The worker's store, answering change markers with the server's values."""

    def __init__(self, store: WorkerStore, markers: dict[str, int]) -> None:
        self.store = store
        self.markers = markers

    def buckets(self) -> list[BucketInfo]:
        return self.store.source.buckets()

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        return self.store.source.events(bucket_id, start_us, end_us)

    def event_table(self, bucket_id: str, start_us: int, end_us: int,
                    rows_hint: int | None = None) -> EventTable:
        return self.store.source.event_table(bucket_id, start_us, end_us, rows_hint)

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int:
        return self.store.source.eventcount(bucket_id, start_us, end_us)

    def change_marker(self, bucket_id: str) -> int:
        if bucket_id not in self.markers:
            raise errors.NoSuchBucket(bucket_id)
        return self.markers[bucket_id]


_worker_store: WorkerStore | None = None


@contextlib.contextmanager
def _spawned_without_main() -> Iterator[None]:
    """Processes spawned meanwhile do not import this process's main script.

    multiprocessing tells a spawned child to run the parent's main module first, found
    through `sys.modules["__main__"]` (its `__spec__` name, else its `__file__`). A
    module object with neither stands in for it while the worker starts (the executor
    starts it inside `submit`), so the child starts from the pickled initializer alone.
    The real main module itself is not touched, and a Python that started the process
    elsewhere would only cost the old imports, not correctness.
    """
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real


def _worker_start(opener: Callable[[], WorkerStore]) -> None:
    global _worker_store
    _exit_with_parent()
    _return_freed_memory_promptly()
    _worker_store = opener()
    _load_query_engine()


def _load_query_engine() -> None:
    """Import what every query needs (the interpreter, numpy and the columnar
    transforms, ~0.1 s) while starting, not inside the first query: a worker started by
    `QueryPool.warm_up` is then fully ready when the dashboard's queries arrive. A
    worker started by a query does the same work either way."""
    import aw_server.query.execute
    import aw_server.transform.columnar  # noqa: F401


def _exit_with_parent() -> None:
    """End this worker as soon as the server's process is gone.

    A pool worker waits on a queue whose write end it holds itself, so when the server
    is killed (aw-qt crashing, `kill -9`, the OOM killer) the worker never sees an end of
    input: it stayed behind, holding ~56 MB and the database open, until the next reboot.
    multiprocessing gives every spawned child a sentinel of its parent, which becomes
    ready when the parent ends, on every platform; a thread waits on it."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait_for_parent() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=wait_for_parent, name="aw-query-worker-parent",
                     daemon=True).start()


_libc: Any = None


def _return_freed_memory_promptly() -> None:
    """A query allocates and frees column arrays of several MB. glibc serves later big
    blocks from its heap once one has been freed, and seldom shrinks the heap: the
    worker kept ~100 MB it no longer used after a 30-day summary. `malloc_trim` after
    each query gives that back. (Forcing every big block into its own mapping did too,
    but then each array of every query paid fresh pages: ~15% of a month's transforms.)
    Other C libraries (musl, macOS, Windows) are left as they are."""
    global _libc
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        libc = None
    if libc is None or not hasattr(libc, "malloc_trim"):
        logger.debug("malloc_trim is not available; the query worker keeps the default")
        return
    _libc = libc


def _trim_freed_memory() -> None:
    if _libc is not None:
        _libc.malloc_trim(0)


def _worker_ready() -> None:
    """A job that only makes the executor spawn its worker (and run its initializer)."""


def _worker_query(tree: Program, periods: list[Period], name: str | None,
                  markers: dict[str, int], limits: QueryLimits) -> tuple[str, Any, Any]:
    """("ok", period results, None) or ("error", (class names, type), message): the
    error's class and its bases, nearest first, so the server can rebuild it."""
    from aw_server.query.execute import execute

    store = _worker_store
    assert store is not None
    try:
        store.cache.reload()
        return "ok", execute(tree, periods, _MarkedSource(store, markers), name, limits), None
    except AWError as exc:
        names = [cls.__name__ for cls in type(exc).__mro__]
        return "error", (names, exc.error_type), exc.message
    finally:
        _trim_freed_memory()


def _remote_error(kind: tuple[list[str], str], message: str) -> AWError:
    """The worker's error as the same class when it has the plain signature, else as its
    nearest base in `aw_server.errors` that has, keeping the worker's error type: the
    HTTP layer maps classes to statuses, so the answer is the same either way."""
    names, error_type = kind
    for name in names:
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and issubclass(cls, AWError):
            try:
                error = cls(message)
            except TypeError:
                continue
            error.error_type = error_type
            return error
    error = AWError(message)
    error.error_type = error_type
    return error


class QueryPool:
    """One worker process, started on demand and stopped when idle or closed."""

    def __init__(self, opener: Callable[[], WorkerStore], *, idle_s: float = IDLE_S) -> None:
        self.opener = opener
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._idle_timer: threading.Timer | None = None
        self._closed = False

    def run(self, tree: Program, periods: list[Period], name: str | None,
            markers: dict[str, int], limits: QueryLimits) -> list[PeriodResult]:
        """Every period's result computed in the worker; raises the query's AWError."""
        from concurrent.futures import BrokenExecutor
        from concurrent.futures import TimeoutError as FutureTimeout

        for attempt in (1, 2):
            executor = self._acquire()
            try:
                future = executor.submit(_worker_query, tree, periods, name, markers, limits)
                status, value, extra = future.result(timeout=limits.max_seconds + GRACE_S)
                break
            except FutureTimeout:
                self._discard(executor)
                raise QueryTooExpensive("the query did not finish in time; try a shorter "
                                        "time period") from None
            except BrokenExecutor:
                # A worker killed while idle (OOM killer, a user) costs one restart; one
                # that dies while running this query is reported.
                self._discard(executor)
                logger.warning("the query worker stopped unexpectedly (attempt %d)", attempt)
                if attempt == 2:
                    raise StorageUnavailable("the query worker stopped unexpectedly (see the "
                                             "server log); try again") from None
            finally:
                self._arm_idle_timer()
        if status == "error":
            raise _remote_error(value, extra)
        results: list[PeriodResult] = value
        return results

    def warm_up(self) -> None:
        """Start the worker now, without waiting for it, so a query expected soon does not
        pay its start (~0.7 s: a new interpreter importing numpy and the transforms). It
        stops after `idle_s` like any worker if no query comes."""
        try:
            self._acquire()  # starts the worker if there is none
        except (StorageUnavailable, RuntimeError):  # closing: nothing to prepare
            return
        self._arm_idle_timer()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        if executor is not None:
            _stop(executor)

    # -- the worker's life -------------------------------------------------------------
    def _acquire(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise StorageUnavailable("the server is stopping")
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            if self._executor is None:
                # Loaded with the first worker: a server that never runs a query (the
                # tray's, most of the day) does not keep multiprocessing's modules.
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                executor = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_start, initargs=(self.opener,))
                with _spawned_without_main():
                    executor.submit(_worker_ready)  # starts the worker process, here
                self._executor = executor
                logger.info("query worker starting")
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        _stop(executor)

    def _arm_idle_timer(self) -> None:
        with self._lock:
            if self._closed or self._executor is None:
                return
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._idle_timer = threading.Timer(self.idle_s, self._stop_if_idle,
                                               args=(self._executor,))
            self._idle_timer.daemon = True
            self._idle_timer.start()

    def _stop_if_idle(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not executor:
                return
            self._executor = None
        logger.info("query worker stopping after %.0f s without queries", self.idle_s)
        _stop(executor)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Shut the pool down without waiting for a query that may never end."""
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5)
