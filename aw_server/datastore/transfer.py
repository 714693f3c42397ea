"""Bulk import: a bucket with its events, merged into what is already stored.

An event counts as already present when a stored event of the bucket has the same start,
end and data (compared as canonical JSON), so importing the same export twice, or an
export of a bucket that kept growing since, adds only what is new.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aw_server.datastore.rows import BucketRow
from aw_server.errors import Forbidden
from aw_server.models import Bucket, Event, canonical_data

if TYPE_CHECKING:
    from aw_server.datastore.core import Database

_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class ImportResult:
    bucket_id: str
    created: bool
    inserted: int
    skipped: int


class TransferOps:
    """Mixed into `Datastore`."""

    db: Database
    _buckets: dict[str, BucketRow]
    _last: dict[int, Event]

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def create_bucket(self, bucket: Bucket) -> Bucket:
        raise NotImplementedError

    def _insert_rows(self, conn: sqlite3.Connection, row: BucketRow, events: list[Event]
                     ) -> list[Event]:
        raise NotImplementedError

    def import_bucket(self, bucket: Bucket, events: list[Event]) -> ImportResult:
        """Create the bucket if needed and add the events it lacks, in one transaction."""
        with self._write() as conn:
            created = bucket.id not in self._buckets
            if created:
                self.create_bucket(bucket)
            row = self._buckets[bucket.id]
            if row.readonly:
                raise Forbidden(f"bucket '{bucket.id}' is a read-only mirror of another device")
            seen = set() if created else self._existing_keys(conn, row, events)
            fresh: list[Event] = []
            for event in events:
                key = (event.timestamp_us, event.end_us, canonical_data(event.data))
                if key in seen:
                    continue
                seen.add(key)
                fresh.append(Event(event.timestamp_us, event.duration_us, event.data))
            # Oldest first, so ids grow with time like a live recording.
            fresh.sort(key=lambda e: e.timestamp_us)
            for i in range(0, len(fresh), _CHUNK):
                self._insert_rows(conn, row, fresh[i : i + _CHUNK])
            self._last.pop(row.key, None)
        return ImportResult(bucket.id, created, len(fresh), len(events) - len(fresh))

    def _existing_keys(
        self, conn: sqlite3.Connection, row: BucketRow, events: list[Event]
    ) -> set[tuple[int, int, str]]:
        if not events:
            return set()
        lo = min(e.timestamp_us for e in events)
        hi = max(e.timestamp_us for e in events)
        rows = conn.execute(
            "SELECT start, end, data FROM event WHERE bucket = ? AND start BETWEEN ? AND ?",
            (row.key, lo, hi),
        )
        return {(start, end, canonical_data(json.loads(data))) for start, end, data in rows}
