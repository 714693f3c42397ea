"""Event reads and writes, the heartbeat merge, and the per-bucket newest-event cache.

Range reads use `start BETWEEN :start - max_duration AND :end`: the bucket's longest event
bounds how far back an overlapping event can start, so the read is an index range scan
whatever the history's length (ActivityWatch scans from the first event instead).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from aw_server.datastore.interning import EVENTS_WITH_TEXT
from aw_server.datastore.rows import BucketRow, event_from_row, event_json_text, sized_json
from aw_server.errors import BadRequest, NoSuchEvent
from aw_server.models import MAX_US, MIN_US, Event

SQLITE_MAX_INT = 2**63 - 1  # a bigger LIMIT means the same: everything
SQLITE_MIN_INT = -(2**63)


def is_sql_integer(value: int) -> bool:
    """Whether SQLite can bind `value` (it raises OverflowError for bigger ones). An id
    from a request beyond that names no event: it is answered as any unknown id."""
    return SQLITE_MIN_INT <= value <= SQLITE_MAX_INT

if TYPE_CHECKING:
    from aw_server.datastore.cache import BucketCache
    from aw_server.datastore.database import Database
    from aw_server.event_table import EventTable


class EventStore:
    """Own events: reads by range or id, writes, and the heartbeat merge.

    Contract: every write goes through `cache.write()` and takes its change-sequence
    numbers from the database inside that transaction; it marks its bucket as changed
    (`BucketCache.grow_max_duration`) and drops the bucket's cached newest event unless
    it set it itself. Reads never write.
    """

    def __init__(self, db: Database, cache: BucketCache, max_event_bytes: int) -> None:
        self.db = db
        self.cache = cache
        self.max_event_bytes = max_event_bytes

    def _event_json(self, event: Event) -> str:
        """The stored text of an event's data, refused above the per-event limit before
        anything of the request is written (the whole transaction rolls back)."""
        return sized_json(event.data, self.max_event_bytes,
                          lambda: f"the event at {event.timestamp.isoformat()}")

    # -- reads -------------------------------------------------------------------------
    def _range_rows(
        self, bucket_id: str, limit: int | None, start_us: int | None, end_us: int | None
    ) -> Iterator[tuple[int, int, int, str]]:
        row = self.cache.row(bucket_id)
        lo = MIN_US if start_us is None else start_us
        hi = MAX_US if end_us is None else end_us
        if lo > hi:
            raise BadRequest("'start' is after 'end'", param="start")
        sql = (
            f"SELECT e.id, e.start, e.end, d.text FROM {EVENTS_WITH_TEXT} WHERE e.bucket = ? "
            "AND e.start BETWEEN ? AND ? AND e.end >= ? "
            "ORDER BY e.start DESC, e.end DESC, e.id DESC"
        )
        params: tuple[int, ...] = (row.key, lo - row.max_duration, hi, lo)
        if limit is not None and limit >= 0:
            sql += " LIMIT ?"
            params += (min(limit, SQLITE_MAX_INT),)
        for event_id, start, end, data in self.db.conn().execute(sql, params):
            if start_us is not None and start < start_us:
                start = start_us
            if end_us is not None and end > end_us:
                end = end_us
            yield event_id, start, end, data

    def read(
        self,
        bucket_id: str,
        limit: int | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
    ) -> list[Event]:
        """Events overlapping [start, end], clipped to it, newest first."""
        return [event_from_row(r) for r in self._range_rows(bucket_id, limit, start_us, end_us)]

    def iter_json(
        self,
        bucket_id: str,
        limit: int | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
        *,
        with_ids: bool = True,
    ) -> Iterator[str]:
        """Like `read`, as wire JSON texts; avoids parsing and re-encoding `data`."""
        for event_id, start, end, data in self._range_rows(bucket_id, limit, start_us, end_us):
            yield event_json_text(event_id if with_ids else None, start, end, data)

    def shared_data(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        """For the query engine: equal `data` texts are parsed once and the dict is shared,
        which matters when a month holds a million events with a few thousand titles.
        The query transforms never modify data in place (their contract), so sharing is
        safe and saves both the copies and the memory."""
        parsed: dict[str, dict[str, object]] = {}
        out: list[Event] = []
        for event_id, start, end, data in self._range_rows(bucket_id, None, start_us, end_us):
            value = parsed.get(data)
            if value is None:
                value = parsed[data] = json.loads(data)
            out.append(Event(start, end - start, value, event_id))
        return out

    def table(
        self, bucket_id: str, start_us: int, end_us: int, rows_hint: int | None = None
    ) -> EventTable:
        """`shared_data` as columns: what the query engine reads (see columns.py).
        `rows_hint`, the range's event count if the caller has it, saves counting again."""
        from aw_server.datastore.columns import read_table  # numpy: query worker only

        row = self.cache.row(bucket_id)
        if start_us > end_us:
            raise BadRequest("'start' is after 'end'", param="start")
        return read_table(self.db.conn, row.key, start_us - row.max_duration, end_us,
                          start_us, end_us, rows_hint)

    def count(
        self, bucket_id: str, start_us: int | None = None, end_us: int | None = None
    ) -> int:
        row = self.cache.row(bucket_id)
        if start_us is None and end_us is None:
            cur = self.db.conn().execute("SELECT count(*) FROM event WHERE bucket = ?", (row.key,))
            return int(cur.fetchone()[0])
        lo = MIN_US if start_us is None else start_us
        hi = MAX_US if end_us is None else end_us
        # An event starting inside [lo, hi] ends at or after lo: those are counted from the
        # range index alone (which has no `end`); only the few starting before lo, within
        # the bucket's longest event, need their rows read.
        cur = self.db.conn().execute(
            "SELECT (SELECT count(*) FROM event WHERE bucket = ?1 AND start BETWEEN ?2 AND ?3)"
            " + (SELECT count(*) FROM event WHERE bucket = ?1 AND start >= ?4 AND start < ?2 "
            "AND start <= ?3 AND end >= ?2)",
            (row.key, lo, hi, lo - row.max_duration),
        )
        return int(cur.fetchone()[0])

    def get(self, bucket_id: str, event_id: int) -> Event:
        row = self.cache.row(bucket_id)
        if not is_sql_integer(event_id):
            raise NoSuchEvent(bucket_id, event_id)
        found = (
            self.db.conn()
            .execute(
                f"SELECT e.id, e.start, e.end, d.text FROM {EVENTS_WITH_TEXT} "
                "WHERE e.id = ? AND e.bucket = ?",
                (event_id, row.key),
            )
            .fetchone()
        )
        if found is None:
            raise NoSuchEvent(bucket_id, event_id)
        return event_from_row(found)

    # -- writes ------------------------------------------------------------------------
    def _insert_rows(
        self, conn: sqlite3.Connection, row: BucketRow, events: Iterable[Event]
    ) -> list[Event]:
        """Insert new own events with fresh ids; caller holds the write transaction."""
        origin = self.db.self_origin
        stored: list[Event] = []
        params = []
        longest = 0
        events = list(events)
        data_ids = self.db.data.ids_of(conn, [self._event_json(event) for event in events])
        for event, data_id in zip(events, data_ids, strict=True):
            event_id = self.cache.take_event_ids(1)
            seq = self.db.next_seq()
            params.append(
                (event_id, row.key, event.timestamp_us, event.end_us, data_id, origin, None, seq)
            )
            longest = max(longest, event.duration_us)
            stored.append(Event(event.timestamp_us, event.duration_us, event.data, event_id))
        conn.executemany(
            "INSERT INTO event (id, bucket, start, end, data_id, origin, origin_id, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params,
        )
        self.cache.grow_max_duration(conn, row, longest)
        return stored

    def insert(self, bucket_id: str, events: list[Event]) -> list[Event]:
        """Insert events; one that carries the id of an event in this bucket replaces it
        (how ActivityWatch's web UI edits an event)."""
        with self.cache.write() as conn:
            row = self.cache.writable(bucket_id)
            fresh = [e for e in events if e.id is None]
            replacing = [e for e in events if e.id is not None]
            stored = self._insert_rows(conn, row, fresh) if fresh else []
            for event in replacing:
                stored.append(self._replace(conn, row, event))
            self.cache.newest.pop(row.key, None)
        return stored

    def _replace(self, conn: sqlite3.Connection, row: BucketRow, event: Event) -> Event:
        assert event.id is not None
        updated = is_sql_integer(event.id) and conn.execute(
            "UPDATE event SET start = ?, end = ?, data_id = ?, seq = ? "
            "WHERE id = ? AND bucket = ?",
            (event.timestamp_us, event.end_us,
             self.db.data.id_of(conn, self._event_json(event)), self.db.next_seq(),
             event.id, row.key),
        ).rowcount
        if not updated:
            return self._insert_rows(conn, row, [Event(event.timestamp_us, event.duration_us,
                                                       event.data)])[0]
        self.cache.grow_max_duration(conn, row, event.duration_us)
        return event

    def delete(self, bucket_id: str, event_id: int) -> bool:
        """False for an unknown id (as aw-server); an id no event can have is not found at
        all (as aw-server-rust, whose route takes only 64-bit ids)."""
        with self.cache.write() as conn:
            row = self.cache.writable(bucket_id)
            if not is_sql_integer(event_id):
                raise NoSuchEvent(bucket_id, event_id)
            found = conn.execute(
                "SELECT origin, coalesce(origin_id, id) FROM event WHERE id = ? AND bucket = ?",
                (event_id, row.key),
            ).fetchone()
            if found is None:
                return False
            conn.execute("DELETE FROM event WHERE id = ?", (event_id,))
            conn.execute(
                "INSERT OR REPLACE INTO tombstone (origin, origin_id, origin_bucket_id, seq) "
                "VALUES (?, ?, ?, ?)",
                (found[0], found[1], bucket_id, self.db.next_seq()),
            )
            row.last_seq = self.db.current_seq
            self.cache.newest.pop(row.key, None)
        return True

    def _newest(self, conn: sqlite3.Connection, row: BucketRow) -> Event | None:
        cached = self.cache.newest.get(row.key)
        if cached is not None:
            return cached
        found = conn.execute(
            f"SELECT e.id, e.start, e.end, d.text FROM {EVENTS_WITH_TEXT} WHERE e.bucket = ? "
            "ORDER BY e.start DESC LIMIT 1",
            (row.key,),
        ).fetchone()
        return event_from_row(found) if found else None

    def heartbeat(self, bucket_id: str, beat: Event, pulsetime_us: int) -> Event:
        """ActivityWatch's rule: merge into the newest event iff the data are equal and the
        beat starts within [last.start, last.end + pulsetime]; else insert it as new."""
        with self.cache.write() as conn:
            row = self.cache.writable(bucket_id)
            last = self._newest(conn, row)
            if (
                last is not None
                and last.id is not None
                and last.data == beat.data
                and last.timestamp_us <= beat.timestamp_us <= last.end_us + pulsetime_us
            ):
                end = max(last.end_us, beat.end_us)
                merged = Event(last.timestamp_us, end - last.timestamp_us, last.data, last.id)
                if end != last.end_us:
                    conn.execute(
                        "UPDATE event SET end = ?, seq = ? WHERE id = ?",
                        (end, self.db.next_seq(), last.id),
                    )
                    self.cache.grow_max_duration(conn, row, merged.duration_us)
                self.cache.newest[row.key] = merged
                return merged.copy()
            inserted = self._insert_rows(conn, row, [beat])[0]
            self.cache.newest[row.key] = inserted
            return inserted.copy()

    # -- export ------------------------------------------------------------------------
    def export_rows(self, bucket_id: str, start_us: int | None = None,
                    end_us: int | None = None) -> Iterator[tuple[int, int, str]]:
        """Whole events (not clipped) overlapping [start, end], newest first, as stored
        (start, end, data text): an export writes the data text as it is."""
        row = self.cache.row(bucket_id)
        lo = MIN_US if start_us is None else start_us
        hi = MAX_US if end_us is None else end_us
        yield from self.db.conn().execute(
            f"SELECT e.start, e.end, d.text FROM {EVENTS_WITH_TEXT} WHERE e.bucket = ? "
            "AND e.start BETWEEN ? AND ? AND e.end >= ? ORDER BY e.start DESC, e.id DESC",
            (row.key, lo - row.max_duration, hi, lo),
        )
