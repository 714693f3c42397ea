"""Run the server: open the datastore, build the app, bind waitress, stop cleanly.

`Server` is what both the `aw-server` command and the tray use; the tray runs it in a
thread of its own process (`start_in_thread`), the command in the foreground.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from waitress.server import create_server

from aw_server.api import ServerAPI
from aw_server.config import ServerConfig
from aw_server.datastore.result_cache import ResultFile
from aw_server.datastore.source import QueryStore
from aw_server.datastore.store import Datastore
from aw_server.file_lock import FileLock, Locked, database_lock
from aw_server.http.app import create_app, start_app
from aw_server.query import QueryCache, QueryService
from aw_server.sync.loader import SyncLoader

if TYPE_CHECKING:
    from aw_server.sync.local import ApplyFaults
    from aw_server.sync.service import SyncService
    from aw_server.transfer.backup import BackupScheduler

logger = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001
# Bytes per socket read. waitress reads 8 KiB at a time by default, which made receiving
# a 100 MB import body take 0.37 s (0.11 s with 64 KiB); a read returns what is there,
# so small requests are unaffected.
RECV_BYTES = 64 * 1024


class DatabaseInUse(Exception):
    """Another process writes to this database file (a server, an `aw-server import`)."""


def _lock_database(path: Path) -> FileLock | None:
    """The database's lock, held while this server runs: a second writer would go past
    this one's in-memory state (its bucket list, newest events, next event id)."""
    if str(path) == ":memory:":
        return None
    try:
        return database_lock(path)
    except Locked as exc:
        raise DatabaseInUse(
            f"{path} is in use by another aw-server or import (pid {exc.pid or '?'}): stop "
            "that one first, or give this one another --dbpath") from None


class Server:
    def __init__(self, config: ServerConfig, *, store: Datastore | None = None,
                 sync_faults: ApplyFaults | None = None) -> None:
        """`store`: an open datastore to serve (else the config's database is opened).
        `sync_faults`: test support only, handed to the sync service (sync/local.py)."""
        self.config = config
        self._db_lock: FileLock | None = None
        if store is None:
            self._db_lock = _lock_database(config.database_path())
        try:
            self.store = store or Datastore(config.database_path(),
                                            durability=config.durability,
                                            max_event_bytes=config.max_event_bytes,
                                            private_dir=config.dbpath is None)
        except BaseException:
            self._release_database()
            raise
        self.queries = self._query_service()
        self.api = ServerAPI(self.store, testing=config.testing, hostname=config.hostname,
                             queries=self.queries)
        self._sync = SyncLoader(self.store, hostname=self.api.info.hostname,
                                testing=config.testing, db_path=config.database_path(),
                                default_port=config.default_sync_port,
                                interval=config.sync_interval_s or None, faults=sync_faults)
        self.app = create_app(config, self.api, sync=self._sync)
        try:
            self._waitress: Any = create_server(
                self.app,
                host=config.host,
                port=config.port,
                threads=config.threads,
                connection_limit=1000,
                # Above Flask's own limit, so Flask answers oversized bodies with JSON.
                max_request_body_size=config.max_body_bytes + 1024 * 1024,
                asyncore_use_poll=True,
                channel_timeout=300,
                recv_bytes=RECV_BYTES,
                ident="aw-server",
            )
        except OSError:
            self.queries.close()
            self.store.close()
            self._release_database()
            raise
        self.port = int(self._waitress.effective_port)
        self.app.extensions["aw_security"].port = self.port
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.backups: BackupScheduler | None = None
        if config.backup_folder is not None:
            from aw_server.transfer.backup import BackupScheduler

            self.backups = BackupScheduler(self.api, config.backup_folder,
                                           every=config.backup_every, keep=config.backup_keep)
        self.found_databases = self._look_for_activitywatch()

    def _query_service(self) -> QueryService:
        """Queries run in a worker process on the same database file unless the config
        turns that off (or the database is in memory, which a worker cannot open)."""
        path = self.config.database_path()
        if str(path) == ":memory:":
            return QueryService(self.store.source, cache=QueryCache())
        # Results of closed periods also go to a file beside the database, so the first
        # dashboard load after a restart is answered without recomputing (docs/query.md).
        cache = QueryCache(persistent=ResultFile(self.store))
        if not self.config.query_worker:
            return QueryService(self.store.source, cache=cache)
        from aw_server.query.pool import QueryPool

        return QueryService(self.store.source, cache=cache,
                            pool=QueryPool(functools.partial(QueryStore, str(path))))

    def _look_for_activitywatch(self) -> list[Path]:
        """On a first start, point at an existing ActivityWatch database (never automatic)."""
        if self.store.buckets.ids():
            return []
        # Import is loaded only here, on a first start, and on its first use: a server
        # with data does not keep its modules (tests/aw_server/test_lazy_imports.py).
        from aw_server.transfer.finding import find_activitywatch_databases

        found = find_activitywatch_databases(testing=self.config.testing)
        for path in found:
            logger.info("found an ActivityWatch database at %s; import it with "
                        "`aw-server import %s`", path, path)
        return found

    @property
    def sync(self) -> SyncService | None:
        """The sync service, loaded on first use; None when its libraries are missing."""
        return self._sync.get()

    @property
    def url(self) -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        # A heartbeat takes the interpreter lock a dozen times (socket, SQLite, reply);
        # behind a running query each take waits up to one switch interval. CPython's
        # 5 ms default made heartbeats' p99 under a dashboard query ~120 ms; 1 ms, ~70 ms.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        logger.info("aw-server listening on %s (database %s)", self.url,
                    self.config.database_path())
        start_app(self.app)
        if self.backups is not None:
            self.backups.start()
        self._sync.start()
        try:
            self._waitress.run()
        except (OSError, ValueError):
            # Closing the sockets from another thread ends the loop this way.
            if not self._stopped.is_set():
                raise

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="aw-server",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish, then close the database."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        logger.info("aw-server stopping")
        waitress = self._waitress
        waitress.accepting = False
        waitress.del_channel()  # stop accepting; the listening socket closes below
        waitress.task_dispatcher.shutdown(timeout=timeout)
        for channel in list(waitress._map.values()):
            if channel is not waitress.trigger:
                with contextlib.suppress(OSError):
                    channel.close()
        # Wake the loop from its poll so it sees the empty map at once.
        waitress.pull_trigger()
        waitress.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._sync.stop()
        self.queries.close()
        self.store.close()
        self._release_database()

    def _release_database(self) -> None:
        if self._db_lock is not None:
            self._db_lock.release()
            self._db_lock = None
        logger.info("aw-server stopped")


def serve_until_signalled(server: Server) -> int:
    """Serve in this thread until SIGTERM or SIGINT, then stop cleanly: what the
    `aw-server` command does once its server is built. The stop runs on a thread of its
    own because a signal handler must not wait for the loop it interrupts."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received signal %d", signum)
        threading.Thread(target=server.stop, name="aw-server-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.serve_forever()
    server.stop()
    return 0
