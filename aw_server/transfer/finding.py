"""Finding and opening ActivityWatch's own files: aw-server's peewee database, aw-server-rust's
sqlite database (schema versions 1 to 5, `database_source.py`) and JSON exports (dict or
list form, `json_export_source.py`), told apart by content.

Each reader turns its file into a stream of `Batch`es: bucket metadata plus events in
the form the store keeps them (integer microseconds, `data` as compact JSON text). The
datastore's import (`datastore/imports/`) stages those batches and publishes them;
nothing here writes.

The source is never modified. A database without a `-wal` file is opened `immutable`
(no locks, no `-shm` file); one with a `-wal` file (its server is running, or crashed)
is copied with its WAL to a temporary folder first and read from the copy.

What counts as damage, and what is only an odd value ActivityWatch itself stored:
- Damage raises `ImportSourceError` naming the file and the spot: unreadable SQLite,
  missing tables, JSON that is invalid or truncated, a bucket without `type`, an event
  without a parsable timestamp, `data` that is not JSON.
- Odd values are kept as closely as we can represent them and counted in `notes`: a
  negative duration (aw-server 0.12.0 accepts them) is stored as 0, `data: null` as `{}`;
  an event whose `data` is JSON but not an object cannot be stored and is skipped.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from aw_server import dirs
from aw_server.batches import SQLITE_MAGIC, ImportSourceError

if TYPE_CHECKING:
    from aw_server.datastore.imports.jobs import ImportReport, ProgressFn
    from aw_server.datastore.store import Datastore
    from aw_server.transfer.source import Source


# -- finding and opening -------------------------------------------------------------
def open_source(path: Path) -> Source:
    """The right reader for the file, told apart by content, not by name. The readers
    are imported here: the server looks for databases at every first start
    (`find_activitywatch_databases`) but reads one only when asked to import it."""
    from aw_server.transfer.database_source import PeeweeSource, RustSource, SqliteSource

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ImportSourceError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise ImportSourceError(path, "the file is empty")
    if head != SQLITE_MAGIC:
        from aw_server.transfer.json_export_source import JsonExportSource

        return JsonExportSource(path)
    probe = SqliteSource(path)
    try:
        tables = {r[0] for r in probe._query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        probe.close()
    if {"bucketmodel", "eventmodel"} <= tables:
        return PeeweeSource(path)
    if {"buckets", "events"} <= tables:
        return RustSource(path)
    raise ImportSourceError(
        path, "a SQLite database, but not one of ActivityWatch's (no bucketmodel/eventmodel "
        f"or buckets/events tables; found {sorted(tables) or 'none'})")


def standard_database_paths(*, testing: bool = False) -> list[Path]:
    """Where aw-server and aw-server-rust keep their databases (honours AW_BASE_DIR)."""
    suffix = "-testing" if testing else ""
    return [
        dirs.data_dir("aw-server-rust") / f"sqlite{suffix}.db",
        dirs.data_dir("aw-server") / f"peewee-sqlite{suffix}.v2.db",
    ]


def find_activitywatch_databases(*, testing: bool = False) -> list[Path]:
    """The ActivityWatch databases present in the standard places, newest server first."""
    found = []
    for path in standard_database_paths(testing=testing):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size > 0:
                found.append(path)
    return found


def import_file(store: Datastore, path: Path | str, *, progress: ProgressFn | None = None
                ) -> ImportReport:
    """Import an ActivityWatch database (aw-server or aw-server-rust) or JSON export
    from disk, streamed; re-running an interrupted import resumes it."""
    with open_source(Path(path)) as source:
        return store.imports.run(source, progress=progress)
