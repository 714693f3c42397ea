"""Results of closed past periods, reused until a bucket they read changes.

A dashboard reloads the same week view over and over; past days never change unless a
bucket is written to (late heartbeats, imports, sync), and every such write moves the
bucket's change marker. An entry therefore records the marker of every bucket the run
read (and the bucket list, if it searched it) and is only served while all still match.

Under the memory LRU an optional persistent layer (`PersistentResults`, the server's is
`aw_server/datastore/result_cache.py`) keeps entries across restarts: every entry put
here is also handed to it, and a memory miss asks it before the query runs. Its entries
are checked against the markers exactly as memory entries are. It must never fail or
slow a query: anything it raises is logged and the layer is dropped for this run.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from aw_server.errors import NoSuchBucket
from aw_server.models import BucketInfo, EventSource

logger = logging.getLogger(__name__)

StoredResult = tuple[dict[str, int], tuple[BucketInfo, ...] | None, Any]


class PersistentResults(Protocol):
    """Entries kept beyond this process, under string keys. `put` and `discard` may
    work in the background; `get` returns what was stored, unchecked."""

    def get(self, key: str) -> StoredResult | None: ...

    def put(self, key: str, markers: dict[str, int],
            bucket_list: tuple[BucketInfo, ...] | None, result: Any) -> None: ...

    def discard(self, key: str) -> None: ...

    def close(self) -> None: ...


def persistent_key(key: Hashable) -> str:
    """A stable text key for `key` (a tuple of program text, period and name): the whole
    key as JSON, so two keys never collide (a hash would cost hashlib's import, ~20 ms
    of every server start)."""
    return json.dumps(key, separators=(",", ":"), default=str)


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

    def __init__(self, max_entries: int = 1024, max_total_size: int = 2_000_000, *,
                 persistent: PersistentResults | None = None) -> None:
        self.max_entries = max_entries
        self.max_total_size = max_total_size
        self.persistent = persistent
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
            if entry is not None and self._entries.get(key) is entry:
                # Stale: drop it now rather than let it occupy space until evicted.
                del self._entries[key]
                self._total -= entry.size
        if entry is not None:
            self._discard_persistent(key)
        else:
            stored = self._from_persistent(key, source)
            if stored is not None:
                with self._lock:
                    self.hits += 1
                return True, stored
        with self._lock:
            self.misses += 1
        return False, None

    def _from_persistent(self, key: Hashable, source: EventSource) -> Any | None:
        """The persistent layer's still-valid result for `key` (now also in memory),
        or None; a stale one is discarded there."""
        persistent = self.persistent
        if persistent is None:
            return None
        text_key = persistent_key(key)
        try:
            stored = persistent.get(text_key)
            if stored is None:
                return None
            markers, bucket_list, result = stored
            entry = _Entry(tuple(sorted(markers.items())), bucket_list, result,
                           result_size(result))
            if not self._still_valid(entry, source):
                persistent.discard(text_key)
                return None
        except Exception:
            self._drop_persistent("reading")
            return None
        self._remember(key, entry)
        return result

    def _discard_persistent(self, key: Hashable) -> None:
        """The persistent copy of a stale memory entry is stale too."""
        persistent = self.persistent
        if persistent is not None:
            try:
                persistent.discard(persistent_key(key))
            except Exception:
                self._drop_persistent("discarding from")

    def _drop_persistent(self, what: str) -> None:
        logger.exception("query result cache: %s the persistent layer failed; it is "
                         "not used again until restart", what)
        self.persistent = None

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
        persistent = self.persistent
        if persistent is not None:
            try:
                persistent.put(persistent_key(key), markers, bucket_list, result)
            except Exception:
                self._drop_persistent("writing to")
        self._remember(key, _Entry(tuple(sorted(markers.items())), bucket_list, result, size))

    def _remember(self, key: Hashable, entry: _Entry) -> None:
        if entry.size > self.max_total_size:
            return
        size = entry.size
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
        """Forget the memory entries (the persistent layer keeps its own)."""
        with self._lock:
            self._entries.clear()
            self._total = 0

    def close(self) -> None:
        """Let the persistent layer write what it has queued and close its file."""
        persistent, self.persistent = self.persistent, None
        if persistent is not None:
            try:
                persistent.close()
            except Exception:
                logger.exception("query result cache: closing the persistent layer failed")
