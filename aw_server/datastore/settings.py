"""Settings: the key/value pairs the web UI and the tray keep in the database.

Each write takes a change-sequence number like any own row, so settings leave the same
trail as buckets and events.
"""

from __future__ import annotations

import json
from typing import Any

from aw_server.datastore.cache import BucketCache
from aw_server.datastore.database import Database
from aw_server.datastore.rows import check_text, dump_json


class SettingsStore:
    """Reads and writes the `setting` table; values are stored as JSON text."""

    def __init__(self, db: Database, cache: BucketCache) -> None:
        self.db = db
        self.cache = cache

    def get(self, key: str) -> Any:
        found = self.db.conn().execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def all(self) -> dict[str, Any]:
        rows = self.db.conn().execute("SELECT key, value FROM setting ORDER BY key")
        return {key: json.loads(value) for key, value in rows}

    def set(self, key: str, value: Any) -> None:
        check_text(key, "key")
        with self.cache.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO setting (key, value, seq) VALUES (?, ?, ?)",
                (key, dump_json(value), self.db.next_seq()),
            )

    def delete(self, key: str) -> bool:
        with self.cache.write() as conn:
            cur = conn.execute("DELETE FROM setting WHERE key = ?", (key,))
            return cur.rowcount > 0
