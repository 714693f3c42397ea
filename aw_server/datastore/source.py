"""What the query language reads of a database, and the smallest store that gives it.

`StoreSource` is the narrow read view (`models.EventSource`) over the bucket and event
stores; `Datastore.source` is one. `QueryStore` opens a database with only those two
stores, for the query worker: a process of its own, started for the first query after
it was idle, whose start is part of that query's wait. Opening a whole `Datastore`
there also imported the import, sync and trust stores, which a query never touches
(about 15 ms of the start).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aw_server.datastore.buckets import BucketStore
from aw_server.datastore.cache import BucketCache
from aw_server.datastore.database import Database
from aw_server.datastore.events import EventStore
from aw_server.models import DEFAULT_MAX_EVENT_BYTES, BucketInfo, Event

if TYPE_CHECKING:
    from aw_server.event_table import EventTable


class StoreSource:
    """The narrow read interface the query language sees (`models.EventSource`), over
    the stores: the query engine needs nothing else of the datastore."""

    def __init__(self, buckets: BucketStore, events: EventStore) -> None:
        self._buckets = buckets
        self._events = events

    def buckets(self) -> list[BucketInfo]:
        return [BucketInfo(b.id, b.type, b.client, b.hostname) for b in self._buckets.all()]

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        return self._events.shared_data(bucket_id, start_us, end_us)

    def event_table(self, bucket_id: str, start_us: int, end_us: int,
                    rows_hint: int | None = None) -> EventTable:
        return self._events.table(bucket_id, start_us, end_us, rows_hint)

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int:
        return self._events.count(bucket_id, start_us, end_us)

    def change_marker(self, bucket_id: str) -> int:
        return self._buckets.change_marker(bucket_id)


class QueryStore:
    """A database opened for reading queries: `source` and the bucket `cache`, nothing else."""

    def __init__(self, path: Path | str) -> None:
        self.db = Database(path)
        self.cache = BucketCache(self.db)
        self.source = StoreSource(BucketStore(self.db, self.cache, DEFAULT_MAX_EVENT_BYTES),
                                  EventStore(self.db, self.cache, DEFAULT_MAX_EVENT_BYTES))

    def close(self) -> None:
        self.db.close()
