"""Publishing: staged rows into the event table, one time window per transaction.

Import merges into what is stored. An event counts as already present when a stored
event of the bucket has the same start, end and data (compared as canonical JSON), and
it counts *as many times as it is stored*: importing the same source twice, or an export
of a bucket that kept growing since, adds only what is new, while events that a source
really holds twice (ActivityWatch does store exact duplicates) arrive twice.

Each window is one transaction that also moves the job's resume point
(`import_job.bucket_pos/start_pos`), so a killed import continues after the last
committed window and a window is never published twice. Short transactions keep the
server answering heartbeats while a big import runs.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aw_server.batches import SourceBucket
from aw_server.datastore.buckets import BucketStore
from aw_server.datastore.cache import BucketCache
from aw_server.datastore.database import Database
from aw_server.datastore.imports.jobs import Job, ProgressFn, StoredRow, now
from aw_server.datastore.imports.staging import Staging
from aw_server.datastore.imports.windows import (
    high_bound,
    insert_window_sql,
    low_bound,
    window_rows,
    window_span,
    window_texts,
)
from aw_server.datastore.interning import EVENTS_WITH_TEXT
from aw_server.datastore.rows import BucketRow, dump_json
from aw_server.models import Bucket, canonical_data

_STAGING = "import_staging"  # the staging file's schema name while publishing


class Publisher:
    """Writes one import job's staged rows and settings into the database.

    Contract: it runs after the job's reading phase; every window and the settings are
    each one `cache.write()` transaction that also updates the job row; it creates
    buckets only through `buckets` and takes event ids from `cache`.
    """

    def __init__(self, db: Database, cache: BucketCache, buckets: BucketStore) -> None:
        self.db = db
        self.cache = cache
        self.buckets = buckets

    @contextmanager
    def attached(self, staging: Staging) -> Iterator[None]:
        """The staging file attached to this thread's connection, so a window goes from
        it into the event table in one statement, without passing through Python."""
        conn = self.db.conn()
        conn.execute(f"ATTACH DATABASE ? AS {_STAGING}", (str(staging.path),))
        # While publishing, this connection keeps more of the event table's pages (index
        # pages are revisited by every window) and checkpoints less often, in larger steps.
        cache = conn.execute("PRAGMA main.cache_size").fetchone()[0]
        checkpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        conn.execute("PRAGMA main.cache_size = -65536")
        conn.execute("PRAGMA wal_autocheckpoint = 16384")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA main.cache_size = {int(cache)}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")
            conn.execute(f"DETACH DATABASE {_STAGING}")

    def publish_bucket(self, job: Job, staging: Staging, pos: int,
                       bucket: tuple[int, SourceBucket], after: int | None, done: int,
                       total: int, progress: ProgressFn, window: int) -> int:
        """Publish one bucket's staged rows from `after` on, one window per transaction,
        each also moving the job's resume point; returns the new progress count."""
        ord_, meta = bucket
        results = job.results
        while True:
            edge = staging.edge(ord_, after, window)
            last = edge is None or not staging.has_after(ord_, edge)
            with self.cache.write() as conn:
                result = results.setdefault(meta.id, [False, 0, 0])
                if meta.id not in self.cache.rows:
                    self.buckets.create(Bucket(meta.id, meta.type, meta.client,
                                              meta.hostname, meta.created, meta.data,
                                              meta.name))
                    result[0] = True
                row = self.cache.rows[meta.id]
                count, top, fresh, skipped = self._publish_window(
                    conn, row, ord_, after, edge, staging.direction(ord_))
                result[1] += fresh
                result[2] += skipped
                after = top if count else after
                conn.execute(
                    "UPDATE import_job SET bucket_pos = ?, start_pos = ?, results = ?, "
                    "updated = ? WHERE id = ?",
                    (pos + 1 if last else pos, None if last else after,
                     json.dumps(results), now(), job.id),
                )
            done += count
            progress("writing", done, total)
            if last:
                return done

    def _has_events_between(self, conn: sqlite3.Connection, row: BucketRow, first: int,
                            last: int) -> bool:
        """Whether the bucket has an event starting in [first, last]: only those can be
        copies of staged rows (`_fresh_rows` compares the same span)."""
        return conn.execute(
            "SELECT 1 FROM event WHERE bucket = ? AND start BETWEEN ? AND ? LIMIT 1",
            (row.key, first, last)).fetchone() is not None

    def _publish_window(self, conn: sqlite3.Connection, row: BucketRow, ord_: int,
                        after: int | None, edge: int | None, direction: str | None
                        ) -> tuple[int, int, int, int]:
        """One window into the bucket: (rows, last start, inserted, skipped). When the
        bucket has no event in the window's time span, nothing can be a duplicate and
        one INSERT ... SELECT copies it; otherwise the rows are compared in Python."""
        span = window_span(conn, _STAGING, ord_, after, edge)
        if not span.count:
            return 0, 0, 0, 0
        if not self._has_events_between(conn, row, span.first, span.last):
            first_seq = self.db.take_seqs(span.count)
            by_rowid = direction is not None and \
                span.high_rowid - span.low_rowid + 1 == span.count
            self.db.data.fill_map(conn, window_texts(conn, _STAGING, ord_, after, edge, span,
                                                     by_rowid))
            cur = conn.execute(insert_window_sql(_STAGING, by_rowid, direction), {
                "id": self.cache.next_event_id, "bucket": row.key, "origin": self.db.self_origin,
                "seq": first_seq, "ord": ord_, "after": low_bound(after),
                "edge": high_bound(edge), "low": span.low_rowid,
                "high": span.high_rowid})
            if cur.rowcount != span.count:
                raise RuntimeError(f"published {cur.rowcount} rows of a window of {span.count}")
            self.cache.next_event_id += span.count
            self.cache.grow_max_duration(conn, row, span.longest)
            self.cache.newest.pop(row.key, None)
            return span.count, span.last, span.count, 0
        rows = window_rows(conn, _STAGING, ord_, after, edge, direction)
        fresh, skipped = self._fresh_rows(conn, row, rows)
        if fresh:
            self._insert_stored(conn, row, fresh)
            self.cache.newest.pop(row.key, None)
        return span.count, span.last, len(fresh), skipped

    def publish_settings(self, job: Job, settings: dict[str, Any]
                          ) -> tuple[list[str], list[str]]:
        """Settings the database lacks are added; one it has with another value keeps
        ours (the user chose it here, after the source was written)."""
        added: list[str] = []
        kept: list[str] = []
        with self.cache.write() as conn:
            for key, value in sorted(settings.items()):
                found = conn.execute("SELECT value FROM setting WHERE key = ?",
                                     (key,)).fetchone()
                if found is None:
                    conn.execute("INSERT INTO setting (key, value, seq) VALUES (?, ?, ?)",
                                 (key, dump_json(value), self.db.next_seq()))
                    added.append(key)
                elif json.loads(found[0]) != value:
                    kept.append(key)
            conn.execute("UPDATE import_job SET phase = 'done', updated = ? WHERE id = ?",
                         (now(), job.id))
        return added, kept
    def _insert_stored(self, conn: sqlite3.Connection, row: BucketRow,
                       rows: list[StoredRow]) -> None:
        """Insert events given in stored form (data already JSON text), oldest first."""
        origin = self.db.self_origin
        params = []
        longest = 0
        data_ids = self.db.data.ids_of(conn, [data for _, _, data in rows])
        for (start, end, _), data_id in zip(rows, data_ids, strict=True):
            event_id = self.cache.take_event_ids(1)
            params.append((event_id, row.key, start, end, data_id, origin, None,
                           self.db.next_seq()))
            longest = max(longest, end - start)
        conn.executemany(
            "INSERT INTO event (id, bucket, start, end, data_id, origin, origin_id, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params,
        )
        self.cache.grow_max_duration(conn, row, longest)

    def _fresh_rows(self, conn: sqlite3.Connection, row: BucketRow,
                    rows: list[StoredRow]) -> tuple[list[StoredRow], int]:
        """The rows (sorted by start) that the bucket lacks, counting multiplicity."""
        if not rows:
            return rows, 0
        existing = conn.execute(
            f"SELECT e.start, e.end, d.text FROM {EVENTS_WITH_TEXT} WHERE e.bucket = ? "
            "AND e.start BETWEEN ? AND ?",
            (row.key, rows[0][0], rows[-1][0]),
        ).fetchall()
        if not existing:
            return rows, 0
        canon: dict[str, str] = {}

        def key(start: int, end: int, text: str) -> tuple[int, int, str]:
            found = canon.get(text)
            if found is None:
                found = canon[text] = canonical_data(json.loads(text))
            return start, end, found

        have = Counter(key(*r) for r in existing)
        fresh: list[StoredRow] = []
        skipped = 0
        for r in rows:
            k = key(*r)
            if have[k] > 0:
                have[k] -= 1
                skipped += 1
            else:
                fresh.append(r)
        return fresh, skipped

    # -- file imports --------------------------------------------------------------------
