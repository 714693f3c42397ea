"""Results of closed past periods, reused until a bucket they read changes.

A dashboard reloads the same week view over and over; past days never change unless a
bucket is written to (late heartbeats, imports, sync), and every such write moves the
bucket's change marker. An entry therefore records the marker of every bucket the run
read (and the bucket list, if it searched it) and is only served while all still match.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from aw_server.errors import NoSuchBucket
from aw_server.models import BucketInfo, EventSource


@dataclass(frozen=True, slots=True)
class _Entry:
    markers: tuple[tuple[str, int], ...]
    bucket_list: tuple[BucketInfo, ...] | None
    result: Any
    size: int


def result_size(value: Any) -> int:
    """Rough cost of keeping `value`: 1 per JSON container or scalar, events included."""
    if isinstance(value, dict):
        return 1 + sum(result_size(v) for v in value.values() if isinstance(v, list | dict))
    if isinstance(value, list):
        return 1 + sum(result_size(v) if isinstance(v, list | dict) else 1 for v in value)
    return 1


class QueryCache:
    """Thread-safe LRU bounded by entry count and by total result size.

    Cached results are returned as the same objects each time: callers must treat them
    as read-only (serialise them, do not edit them).
    """

    def __init__(self, max_entries: int = 1024, max_total_size: int = 2_000_000) -> None:
        self.max_entries = max_entries
        self.max_total_size = max_total_size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, source: EventSource) -> tuple[bool, Any]:
        """(True, result) if a still-valid entry exists, else (False, None)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and self._still_valid(entry, source):
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                self.hits += 1
            return True, entry.result
        with self._lock:
            self.misses += 1
            if entry is not None and self._entries.get(key) is entry:
                # Stale: drop it now rather than let it occupy space until evicted.
                del self._entries[key]
                self._total -= entry.size
        return False, None

    @staticmethod
    def _still_valid(entry: _Entry, source: EventSource) -> bool:
        try:
            for bucket_id, marker in entry.markers:
                if source.change_marker(bucket_id) != marker:
                    return False
        except NoSuchBucket:
            return False
        return entry.bucket_list is None or tuple(source.buckets()) == entry.bucket_list

    def put(
        self,
        key: Hashable,
        markers: dict[str, int],
        bucket_list: tuple[BucketInfo, ...] | None,
        result: Any,
    ) -> None:
        size = result_size(result)
        if size > self.max_total_size:
            return
        entry = _Entry(tuple(sorted(markers.items())), bucket_list, result, size)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old.size
            self._entries[key] = entry
            self._total += size
            while self._entries and (
                len(self._entries) > self.max_entries or self._total > self.max_total_size
            ):
                _, evicted = self._entries.popitem(last=False)
                self._total -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0
