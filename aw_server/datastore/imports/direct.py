"""Publishing straight from the source, for the buckets an import creates.

Staging (`staging.py`) writes every event twice: into the staging file while reading, and
from there into the database. A bucket the database does not have yet, whose events the
source lists in time order (either way: ActivityWatch exports newest first), needs
neither the merge nor the sort staging is for. Its events go into the event table as
they are read, a batch at a time, in the staging writer's thread, so reading and
publishing overlap and each event is written once.

What keeps that safe:
- Ids. A bucket's ids must follow time order (ties as a newest-first export lists them,
  see `staging._ties`), but a newest-first bucket is read from its end. So the bucket
  gets, when first seen, a block of ids as large as the rest of the source could fill
  (`Source.events_left`), and takes them from the block's top down or from its bottom
  up. The event table's counter moves past the block at once, so nothing else takes an
  id from it; the unused part is a gap in the ids.
- Resuming. A batch's direct part is one database transaction that also records the
  source cursor after it (`import_job.direct`), committed before the batch's staged part.
  An interrupted import resumes from the staging file's cursor, at most one batch
  behind; that batch's direct part was committed, and is not written again.
- Damage found later. "Nothing partial is left behind" becomes "written, then removed":
  a source found damaged rolls its direct buckets back (`ImportStore._roll_back_direct`).
- Surprises. A bucket whose events turn out not to be in time order, or more than its
  block holds, stops direct publishing for the whole import (`DirectBroken`): what it
  published is rolled back, and the source is read again through staging.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import chain, islice
from operator import ge, itemgetter, le, sub

from aw_server.batches import Batch, SourceBucket, StagedEvent
from aw_server.datastore.interning import DataInterner

_BUCKET, _START, _END = itemgetter(0), itemgetter(1), itemgetter(2)


class DirectBroken(Exception):
    """Direct publishing cannot go on; the import starts over through staging."""


@dataclass(slots=True)
class DirectBucket:
    """A bucket being published directly, as of the last committed direct part."""

    key: int  # its row in the bucket table
    low: int  # its id block: [low, high]
    high: int
    descending: bool  # its events come newest first
    count: int  # events published
    last: int  # start of the last of them in source order

    def first_id(self, n: int) -> int:
        """The lowest id of the next `n` events (given to them oldest first)."""
        return self.high - self.count - n + 1 if self.descending else self.low + self.count

    def first_origin_id(self) -> int:
        """The `origin_id` of the next event. It names an event to synced devices, so it
        must be unique for this device but need not equal the id: events get them in the
        order they are inserted, from the bottom of the block (where no other event's
        can be). So they always land at the end of the `event_identity` index, which
        halves what that index costs for a bucket read newest first (measured in
        docs/import-export.md)."""
        return self.low + self.count


@dataclass(slots=True)
class DirectState:
    """What the database holds of an import's direct publishing (`import_job.direct`)."""

    enabled: bool = True
    cursor: str | None = None  # the source cursor after the last committed direct part
    buckets: dict[str, DirectBucket] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> DirectState:
        raw = json.loads(text or "{}")
        return cls(raw.get("enabled", True), raw.get("cursor"),
                   {b: DirectBucket(**v) for b, v in raw.get("buckets", {}).items()})

    def to_json(self) -> str:
        return json.dumps({"enabled": self.enabled, "cursor": self.cursor,
                           "buckets": {b: asdict(v) for b, v in self.buckets.items()}})


@dataclass(slots=True)
class DirectPart:
    """One bucket's events of one batch, oldest first, ready for `insert_events`."""

    bucket_id: str
    new: SourceBucket | None  # its description when the bucket is to be created
    capacity: int  # the id block to reserve, for a new bucket
    descending: bool
    count: int
    last: int  # start of its last event in source order
    longest: int
    rows: list[StagedEvent]


@dataclass(slots=True)
class _Track:
    """The reading thread's view of a direct bucket."""

    descending: bool | None  # None until its first part is planned
    last: int | None
    count: int
    capacity: int


class DirectPlanner:
    """Splits each batch, in the reading thread, into the events to stage and the parts
    to publish directly, deciding once per bucket and checking order as it goes."""

    def __init__(self, state: DirectState, default_direction: str | None,
                 eligible: Callable[[str], bool], skip_cursor: str | None) -> None:
        self.enabled = state.enabled and default_direction is not None
        self._descending_default = default_direction == "descending"
        self._eligible = eligible
        self._track = {b: _Track(d.descending, d.last, d.count, d.high - d.low + 1)
                       for b, d in state.buckets.items()}
        self._staged: set[str] = set()
        self._described: dict[str, SourceBucket] = {}
        self._skip_cursor = skip_cursor

    def split(self, batch: Batch, events_left: int) -> tuple[list[StagedEvent],
                                                               list[DirectPart]]:
        """`events_left`: the most events the source can still hold from this batch on."""
        for bucket in batch.buckets:
            self._described.setdefault(bucket.id, bucket)
        if not self.enabled or not batch.events:
            return batch.events, []
        # The batch whose direct part was committed before an interruption: its direct
        # buckets are skipped, and no bucket starts being direct in it.
        skip = batch.cursor == self._skip_cursor
        if skip:
            self._skip_cursor = None
        direct: dict[str, list[StagedEvent]] = {}
        ids = dict.fromkeys(map(_BUCKET, batch.events))  # in order of appearance
        for bucket_id in ids:
            if bucket_id in self._track:
                direct[bucket_id] = []
            elif bucket_id not in self._staged:
                if not skip and bucket_id in self._described and self._eligible(bucket_id):
                    direct[bucket_id] = []
                    self._track[bucket_id] = _Track(None, None, 0, events_left)
                else:
                    self._staged.add(bucket_id)
        if not direct:
            return batch.events, []
        if len(ids) == 1:
            staged: list[StagedEvent] = []
            direct[batch.events[0][0]] = batch.events
        else:
            staged = []
            for event in batch.events:
                target = direct.get(event[0])
                (staged if target is None else target).append(event)
        if skip:
            return staged, []
        return staged, [self._part(b, rows) for b, rows in direct.items()]

    def _part(self, bucket_id: str, rows: list[StagedEvent]) -> DirectPart:
        track = self._track[bucket_id]
        starts = list(map(_START, rows))
        new = track.descending is None
        descending = track.descending
        if descending is None:
            descending = starts[0] > starts[-1] if starts[0] != starts[-1] \
                else self._descending_default
        step = ge if descending else le
        in_order = all(map(step, starts, islice(starts, 1, None))) and (
            track.last is None or step(track.last, starts[0]))
        if not in_order:
            raise DirectBroken(f"the events of bucket {bucket_id!r} are not in time order")
        if track.count + len(rows) > track.capacity:
            raise DirectBroken(f"bucket {bucket_id!r} has more events than its id block")
        track.descending, track.last = descending, starts[-1]
        track.count += len(rows)
        ordered = rows[::-1] if descending else rows
        longest = max(map(sub, map(_END, rows), starts))
        return DirectPart(bucket_id, self._described[bucket_id] if new else None,
                          track.capacity, descending, len(rows), starts[-1], longest, ordered)


# Rows per INSERT statement: the most that fits SQLite's limit on parameters (999 before
# SQLite 3.32) up to this many. Each statement ends with the thread waiting for the
# interpreter lock, so fewer is better, but SQLite itself is slower with larger ones.
_MOST_ROWS = 1024
_FIXED_PARAMETERS = 5


def insert_events(conn: sqlite3.Connection, rows: list[StagedEvent], first_id: int,
                  first_origin_id: int, bucket_key: int, origin: int, first_seq: int,
                  interned: DataInterner) -> None:
    """Insert `rows` into the event table with ids, origin ids and change numbers
    counting up from `first_id`, `first_origin_id` and `first_seq`.

    Up to 1,024 rows go into each statement, as multi-row VALUES whose parameters are the
    events' own tuples laid end to end; ids, bucket and origin are written by SQLite from
    the statement's first five parameters. It replaced spreading one JSON array per
    batch (`json_each`, which parses each row's JSON again for every column): for a
    100 MB export, 2.3 s of CPU instead of 3.2 s, and the reading thread no longer
    packs the rows. Each data text is replaced by its id in `event_data` (`interned`)."""
    most = _rows_per_statement(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    done = 0
    while done < len(rows):
        n = most
        while n > len(rows) - done:
            n //= 2  # the rest in halves: few distinct statements to prepare
        part = rows[done:done + n]
        data_ids = interned.ids_of(conn, [data for _, _, _, data in part])
        values = [(b, start, end, data_id)
                  for (b, start, end, _), data_id in zip(part, data_ids, strict=True)]
        conn.execute(_insert_sql(n), (first_id + done, first_seq + done, bucket_key, origin,
                                      first_origin_id + done, *chain.from_iterable(values)))
        done += n


def _rows_per_statement(parameter_limit: int) -> int:
    n = _MOST_ROWS
    while n > 1 and _FIXED_PARAMETERS + 4 * n > parameter_limit:
        n //= 2
    return n


@lru_cache(maxsize=32)
def _insert_sql(n: int) -> str:
    """Row k takes parameters ?(6+4k)..?(9+4k): an event tuple (bucket id, start, end,
    data id), whose bucket id is not used. An origin id equal to the id is stored as NULL
    (docs/storage.md)."""
    values = ",".join(f"(?1+{k},?3,?{7 + 4 * k},?{8 + 4 * k},?{9 + 4 * k},?4,"
                      f"nullif(?5+{k},?1+{k}),?2+{k})"
                      for k in range(n))
    return ("INSERT INTO event (id, bucket, start, end, data_id, origin, origin_id, seq) "
            f"VALUES {values}")
