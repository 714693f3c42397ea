"""An in-memory `EventSource` for unit tests: a test double for the Protocol, not a
second datastore. It follows the documented contract (newest first, clipped to the
range, NoSuchBucket for unknown ids, a marker that moves on every write).
"""

from __future__ import annotations

from aw_server.errors import NoSuchBucket
from aw_server.models import BucketInfo, Event


class MemorySource:
    def __init__(self) -> None:
        self._info: dict[str, BucketInfo] = {}
        self._events: dict[str, list[Event]] = {}
        self._markers: dict[str, int] = {}
        self.reads: list[tuple[str, int, int]] = []

    def add_bucket(
        self, bucket_id: str, *, type: str = "test", hostname: str = "host", client: str = "test"
    ) -> None:
        self._info[bucket_id] = BucketInfo(bucket_id, type, client, hostname)
        self._events[bucket_id] = []
        self._markers[bucket_id] = 0

    def insert(self, bucket_id: str, events: list[Event]) -> None:
        self._events[bucket_id].extend(events)
        self._events[bucket_id].sort(key=lambda e: e.timestamp_us)
        self._markers[bucket_id] += 1

    def buckets(self) -> list[BucketInfo]:
        return list(self._info.values())  # in creation order, as the contract says

    def _require(self, bucket_id: str) -> list[Event]:
        if bucket_id not in self._events:
            raise NoSuchBucket(bucket_id)
        return self._events[bucket_id]

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        self.reads.append((bucket_id, start_us, end_us))
        out = []
        for e in self._require(bucket_id):
            if e.end_us >= start_us and e.timestamp_us <= end_us:
                s = max(e.timestamp_us, start_us)
                t = min(e.end_us, end_us)
                out.append(Event(s, t - s, dict(e.data), e.id))
        out.reverse()
        return out

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int:
        return sum(
            1
            for e in self._require(bucket_id)
            if e.end_us >= start_us and e.timestamp_us <= end_us
        )

    def change_marker(self, bucket_id: str) -> int:
        self._require(bucket_id)
        return self._markers[bucket_id]
