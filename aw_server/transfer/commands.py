"""`aw-server import PATH` and `aw-server export ...`: the commands beside serving (their
arguments are parsed in `aw_server.cli`).

Both open the database file directly. Import refuses while a server of this database is
running (two writers would hand out the same change-sequence numbers); export only reads
and may run any time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from aw_server.api import ServerAPI
from aw_server.batches import ImportSourceError
from aw_server.config import ServerConfig
from aw_server.datastore.imports.jobs import ImportReport
from aw_server.datastore.store import Datastore
from aw_server.errors import AWError
from aw_server.file_lock import Locked, database_lock
from aw_server.models import dt_to_us
from aw_server.transfer.csv_export import write_csv
from aw_server.transfer.finding import import_file

logger = logging.getLogger("aw_server")

def parse_cli_time(text: str) -> int:
    """A date or ISO 8601 time; without an offset it is local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date or ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return dt_to_us(moment)


class ProgressBar:
    """One status line on stderr, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._last = 0.0
        self._phase = ""
        self._started = time.monotonic()

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if phase == self._phase and now - self._last < (0.1 if self.tty else 1.0):
            return
        if phase != self._phase and self._phase and self.tty:
            self.stream.write("\n")
        self._phase, self._last = phase, now
        unit = "bytes" if phase == "reading" and total and total > 10 * done else "events"
        if total:
            share = min(1.0, done / total)
            filled = int(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"{phase:8} [{bar}] {share:6.1%} ({done:,}/{total:,})"
        else:
            text = f"{phase:8} {done:,} {unit}"
        text += f" {now - self._started:5.0f}s"
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._phase:
            self.stream.write("\n")
            self.stream.flush()


def _server_running(config: ServerConfig, device_id: str) -> bool:
    """Asked with the standard library: importing `requests` for this one call costs a
    fifth of the command's start-up."""
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host
    connection = http.client.HTTPConnection(host, config.port, timeout=1)
    try:
        connection.request("GET", "/api/0/info")
        info = json.loads(connection.getresponse().read())
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        connection.close()
    return isinstance(info, dict) and info.get("device_id") == device_id


def print_report(report: ImportReport, out: TextIO) -> None:
    verb = "resumed and finished" if report.resumed else "imported"
    out.write(f"{verb} {report.source} ({report.kind}): {report.inserted:,} events added, "
              f"{report.skipped:,} already present\n")
    for result in report.buckets:
        state = "new" if result.created else "merged"
        out.write(f"  {result.bucket_id}: {state}, +{result.inserted:,} "
                  f"(skipped {result.skipped:,})\n")
    if report.settings_added:
        out.write(f"  settings added: {', '.join(report.settings_added)}\n")
    if report.settings_kept:
        out.write(f"  settings kept as they were here (the source differs): "
                  f"{', '.join(report.settings_kept)}\n")
    for note, count in sorted(report.notes.items()):
        out.write(f"  note: {count:,} × {note}\n")


CLI_PUBLISH_WINDOW = 100_000


def run_import(config: ServerConfig, path: Path) -> int:
    if not path.is_file():
        logger.error("%s: no such file", path)
        return 2
    try:
        lock = database_lock(config.database_path())
    except Locked as exc:
        logger.error("aw-server is running on this database (pid %s); stop it first, or "
                     "import from the dashboard", exc.pid or "?")
        return 4
    try:
        return _import_locked(config, path)
    finally:
        lock.release()


def _import_locked(config: ServerConfig, path: Path) -> int:
    store = Datastore(config.database_path(), durability=config.durability,
                      max_event_bytes=config.max_event_bytes)
    try:
        if _server_running(config, store.device_id):  # an older server, without the lock
            logger.error("aw-server is running on this database (port %s); stop it first, "
                         "or import from the dashboard", config.port)
            return 4
        # No server shares the database, so no heartbeat waits on a longer transaction:
        # fewer, larger windows publish ~10% faster.
        store.imports.publish_window = CLI_PUBLISH_WINDOW
        api = ServerAPI(store, testing=config.testing, hostname=config.hostname)
        bar = ProgressBar(sys.stderr)
        try:
            report = import_file(api.store, path, progress=bar)
        finally:
            bar.close()
    except ImportSourceError as exc:
        logger.error("import failed, nothing was imported: %s", exc.message)
        return 1
    except AWError as exc:
        logger.error("import failed: %s", exc.message)
        return 1
    except KeyboardInterrupt:
        logger.error("interrupted: run the same command again to continue where it stopped")
        return 130
    finally:
        store.close()
    print_report(report, sys.stdout)
    return 0


@contextlib.contextmanager
def _output(target: Path | None) -> Iterator[TextIO]:
    """stdout, or a temporary file renamed onto the target only when complete."""
    if target is None:
        sys.stdout.reconfigure(encoding="utf-8", newline="")  # type: ignore[union-attr]
        yield sys.stdout
        sys.stdout.flush()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def run_export(config: ServerConfig, *, since_text: str | None, until_text: str | None,
               buckets: list[str] | None, fmt: str, output: Path | None) -> int:
    """`since_text`/`until_text` as the user typed them (`parse_cli_time`)."""
    dbpath = config.database_path()
    if not dbpath.exists():
        logger.error("no database at %s", dbpath)
        return 2
    try:
        since = parse_cli_time(since_text) if since_text else None
        until = parse_cli_time(until_text) if until_text else None
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    store = Datastore(dbpath, durability=config.durability)
    try:
        api = ServerAPI(store, testing=config.testing, hostname=config.hostname)
        ids = buckets or store.buckets.ids()
        for bucket_id in ids:
            store.buckets.get(bucket_id)
        with _output(output) as out:
            if fmt == "csv":
                write_csv(api, out, bucket_ids=ids, start_us=since, end_us=until)
            else:
                for chunk in api.export_chunks(ids, since, until):
                    out.write(chunk)
    except AWError as exc:
        logger.error("export failed: %s", exc.message)
        return 1
    finally:
        store.close()
    if output:
        logger.info("exported to %s", output)
    return 0
