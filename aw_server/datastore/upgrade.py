"""A slow schema upgrade, asked about before the server starts and run on its own.

The step to schema 6 copies every event once (about 6 s per million), at the first
start of a new version. A server started straight away does it silently inside its
start; a tray would then show nothing for half a minute on a long history, and the
user would think it failed to start. So a front end asks `upgrade_pending` first, runs
`upgrade` with a progress callback (on a thread, showing how far it got), and only then
starts the server, which finds the file current. The upgrade itself is the one
`schema.migrate` runs: resumable after a kill or a quit, so stopping half-way is safe.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from aw_server.datastore.database import Database
from aw_server.datastore.migrate_interning import Progress
from aw_server.datastore.schema import SCHEMA_VERSION

logger = logging.getLogger(__name__)


def upgrade_pending(path: Path) -> bool:
    """True if `path` holds a database of an older schema than this version's.

    A missing, new, current, newer or unreadable file answers False: opening it costs
    nothing worth showing, and the server's own start reports what is wrong with it.
    Nothing is written (the connection is query-only)."""
    if not path.is_file():
        return False
    try:
        conn = sqlite3.connect(path, timeout=5)
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA query_only = 1")
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as exc:
        logger.debug("no upgrade check for %s: %s", path, exc)
        return False
    finally:
        conn.close()
    return 0 < int(version) < SCHEMA_VERSION


def upgrade(path: Path, progress: Progress, *, durability: str = "normal",
            private_dir: bool = False) -> None:
    """Bring the database at `path` to this version's schema, telling `progress`
    (events copied, events to copy) after each batch; opens and closes the file the way
    the server opens it. Raises what opening it would raise in the server."""
    Database(path, durability=durability, private_dir=private_dir,
             upgrade_progress=progress).close()
