"""Bulk import and export reads.

Import merges into what is stored. An event counts as already present when a stored
event of the bucket has the same start, end and data (compared as canonical JSON), and
it counts *as many times as it is stored*: importing the same source twice, or an export
of a bucket that kept growing since, adds only what is new, while events that a source
really holds twice (ActivityWatch does store exact duplicates) arrive twice.

File imports (`ImportStore.run`) run in two phases, each resumable:
1. Reading: the source is streamed into a staging file beside the database, batch by
   batch, each committed with the source position after it. Every value is validated
   here, so a damaged or truncated source fails in this phase, and failing means deleting
   the staging file and the job row. Buckets the import creates, listed in time order,
   skip staging: they are published as they are read (`direct.py`), and taken back if
   the source fails; of the others nothing ever reached the database.
2. Publishing: staged events go into the database one time window of one bucket at a
   time; each window is one transaction that also moves the job's resume point
   (`import_job.bucket_pos/start_pos`), so a killed import continues after the last
   committed window and a window is never published twice. Short transactions keep the
   server answering heartbeats while a big import runs.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aw_server.batches import Batch, BatchSource, ImportSourceError, SourceBucket, StagedEvent
from aw_server.datastore.checkpointer import BackgroundCheckpointer
from aw_server.datastore.direct import (
    DirectBroken,
    DirectBucket,
    DirectPart,
    DirectPlanner,
    DirectState,
    insert_events,
)
from aw_server.datastore.rows import BucketRow, dump_json, text_size
from aw_server.datastore.staging import (
    Staging,
    StagingWriter,
    high_bound,
    insert_window_sql,
    low_bound,
    window_rows,
    window_span,
)
from aw_server.errors import EventTooLarge, Forbidden
from aw_server.gc_pause import gc_paused
from aw_server.models import Bucket, canonical_data, format_us

if TYPE_CHECKING:
    from aw_server.datastore.buckets import BucketStore
    from aw_server.datastore.cache import BucketCache
    from aw_server.datastore.database import Database

log = logging.getLogger(__name__)

_CHUNK = 5000
_STAGING = "import_staging"  # the staging file's schema name while publishing
# One file import at a time per process: two imports resuming the same job would
# publish its windows twice. (Another process is kept out by `aw-server import`, which
# refuses while a server of the database answers.)
_IMPORT_LOCK = threading.Lock()
ProgressFn = Callable[[str, int, "int | None"], None]
StoredRow = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class ImportResult:
    bucket_id: str
    created: bool
    inserted: int
    skipped: int


@dataclass(slots=True)
class ImportReport:
    """What one file import did, bucket by bucket."""

    source: str
    kind: str
    buckets: list[ImportResult]
    settings_added: list[str] = field(default_factory=list)
    settings_kept: list[str] = field(default_factory=list)  # ours differed: ours kept
    notes: dict[str, int] = field(default_factory=dict)
    resumed: bool = False

    @property
    def inserted(self) -> int:
        return sum(r.inserted for r in self.buckets)

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.buckets)


@dataclass(slots=True)
class _Job:
    id: int
    staging: str
    phase: str
    bucket_pos: int
    start_pos: int | None
    results: dict[str, list[Any]]
    direct: DirectState

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> _Job:
        """From the columns of `_JOB_COLUMNS`, in order."""
        job_id, staging, phase, bucket_pos, start_pos, results, direct = row[:7]
        return cls(job_id, staging, phase, bucket_pos, start_pos, json.loads(results),
                   DirectState.from_json(direct))


_JOB_COLUMNS = "id, staging, phase, bucket_pos, start_pos, results, direct"


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ImportStore:
    """The database side of import: jobs, staging, publishing, merging into buckets.

    Contract: it reads only a `BatchSource` (the readers live in `aw_server.transfer`);
    each phase step is its own short transaction through `cache.write()`, so heartbeats
    keep being answered; it creates and deletes buckets only through `buckets`. The
    three tuning attributes are per store so the CLI and tests can change them.
    """

    def __init__(self, db: Database, cache: BucketCache, buckets: BucketStore,
                 max_event_bytes: int) -> None:
        self.db = db
        self.cache = cache
        self.buckets = buckets
        self.max_event_bytes = max_event_bytes
        self.read_batch = 50_000  # source events per staging commit
        self.publish_window = 20_000  # events per published transaction
        self.direct_publish = True  # new buckets in time order skip staging (`direct.py`)

    # -- merging -----------------------------------------------------------------------
    def _insert_stored(self, conn: sqlite3.Connection, row: BucketRow,
                       rows: list[StoredRow]) -> None:
        """Insert events given in stored form (data already JSON text), oldest first."""
        origin = self.db.self_origin
        params = []
        longest = 0
        for start, end, data in rows:
            event_id = self.cache.take_event_ids(1)
            params.append((event_id, row.key, start, end, data, origin, event_id,
                           self.db.next_seq()))
            longest = max(longest, end - start)
        conn.executemany(
            "INSERT INTO event (id, bucket, start, end, data, origin, origin_id, seq) "
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
            "SELECT start, end, data FROM event WHERE bucket = ? AND start BETWEEN ? AND ?",
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
    def _staging_path(self, job_id: int) -> str:
        if self.db.path == ":memory:":
            return os.path.join(tempfile.gettempdir(), f"aw-import-{os.getpid()}-{job_id}.sqlite")
        return f"{self.db.path}.import-{job_id}.sqlite"

    def _open_job(self, source_path: str, kind: str, fingerprint: str) -> tuple[_Job, bool]:
        """The unfinished job of this source if the file is unchanged, else a new one."""
        with self.cache.write() as conn:
            found = conn.execute(
                f"SELECT {_JOB_COLUMNS}, fingerprint FROM import_job WHERE source = ? "
                "AND phase != 'done' ORDER BY id DESC", (source_path,),
            ).fetchall()
            for row in found:
                job, fp = _Job.from_row(row), row[7]
                usable = fp == fingerprint and (job.phase == "reading"
                                                or Path(job.staging).exists())
                if usable:
                    return job, True
                # Changed source, or staging file lost: start anew (what was published
                # already is recognised and skipped).
                self._forget(conn, job)
            cur = conn.execute(
                "INSERT INTO import_job (source, kind, fingerprint, staging, phase, started, "
                "updated) VALUES (?, ?, ?, '', 'reading', ?, ?)",
                (source_path, kind, fingerprint, _now(), _now()),
            )
            job_id = int(cur.lastrowid or 0)
            staging = self._staging_path(job_id)
            conn.execute("UPDATE import_job SET staging = ? WHERE id = ?", (staging, job_id))
        return _Job(job_id, staging, "reading", 0, None, {}, DirectState()), False

    def _forget(self, conn: sqlite3.Connection, job: _Job) -> None:
        """Drop a job that will not resume. What its reading published directly was not
        finished, and goes; windows it published are complete, and stay."""
        if job.phase == "reading":
            self._roll_back_direct(job, enabled=True)
        Staging(Path(job.staging)).remove()
        conn.execute("DELETE FROM import_job WHERE id = ?", (job.id,))

    def drop_unresumable(self) -> list[str]:
        """Unfinished imports whose source file is gone (an upload a stopped server left)
        can never resume: forget them (see `_forget`); returns their sources."""
        dropped = []
        with self.cache.write() as conn:
            for row in conn.execute(
                f"SELECT {_JOB_COLUMNS}, source FROM import_job WHERE phase != 'done'"
            ).fetchall():
                if not Path(row[7]).exists():
                    self._forget(conn, _Job.from_row(row))
                    dropped.append(str(row[7]))
        return dropped

    def unfinished(self) -> list[dict[str, Any]]:
        """Interrupted imports (for the tray or dashboard to offer resuming)."""
        rows = self.db.conn().execute(
            "SELECT id, source, kind, phase, started, updated FROM import_job "
            "WHERE phase != 'done' ORDER BY id"
        )
        names = ("id", "source", "kind", "phase", "started", "updated")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def run(self, source: BatchSource, *, progress: ProgressFn | None = None
                      ) -> ImportReport:
        """Import a whole ActivityWatch file; re-running an interrupted import resumes it.
        The cyclic collector pauses meanwhile (see `gc_pause`): the import makes millions
        of short-lived objects and no cycles."""
        with _IMPORT_LOCK, gc_paused():
            return self._import_source(source, progress)

    def _import_source(self, source: BatchSource, progress: ProgressFn | None) -> ImportReport:
        report_progress: ProgressFn = progress or (lambda phase, done, total: None)
        source_path = str(Path(source.path).resolve())
        job, resumed = self._open_job(source_path, source.kind, source.fingerprint())
        staging = Staging(Path(job.staging))
        try:
            if job.phase == "reading":
                self._read(job, source, staging, report_progress)
            return self._publish(job, staging, source, resumed, report_progress)
        except (ImportSourceError, Forbidden, EventTooLarge):
            staging.remove()
            with self.cache.write() as conn:
                self._roll_back_direct(job, enabled=True)
                conn.execute("DELETE FROM import_job WHERE id = ?", (job.id,))
            raise
        finally:
            staging.close()

    def _read(self, job: _Job, source: BatchSource, staging: Staging,
              progress: ProgressFn) -> None:
        if staging.get("read"):
            return
        try:
            self._read_batches(job, source, staging, progress)
        except DirectBroken as why:
            log.info("%s: %s; reading it again, through staging", source.path, why)
            self._roll_back_direct(job, enabled=False)
            staging.reset()
            source.notes.clear()
            self._read_batches(job, source, staging, progress)
        try:
            staging.finish(source.settings())
        except ValueError as exc:
            raise ImportSourceError(source.path, str(exc)) from None
        for bucket_id, direct in job.direct.buckets.items():
            job.results[bucket_id] = [True, direct.count, 0]
        with self.cache.write() as conn:
            conn.execute("UPDATE import_job SET phase = 'publishing', results = ?, updated = ? "
                         "WHERE id = ?", (json.dumps(job.results), _now(), job.id))
        job.phase = "publishing"

    def _read_batches(self, job: _Job, source: BatchSource, staging: Staging,
                      progress: ProgressFn) -> None:
        """Stage each batch, after publishing its direct part (see `direct.py`) in the
        same thread, first."""
        source.notes.update(staging.get("notes", {}))
        cursor = staging.get("cursor") or None
        done = int(staging.get("done") or 0)
        # The direct cursor the staging file last recorded; if the database's is another,
        # the database is one batch ahead (see `DirectPlanner`).
        direct_cursor = job.direct.cursor
        ahead = None if direct_cursor == staging.get("direct") else direct_cursor
        planner = DirectPlanner(
            job.direct, source.direct_order if self.direct_publish else None,
            lambda b: b not in self.cache.rows and not staging.has_rows(b), ahead)
        checkpoints: AbstractContextManager[object] = nullcontext()
        if planner.enabled and self.db.path != ":memory:":
            checkpoints = BackgroundCheckpointer(self.db.path)
        with StagingWriter(staging, prompt=planner.enabled) as writer, checkpoints:
            for batch in source.batches(cursor, self.read_batch):
                self._check_sizes(batch.events)
                staged, parts = planner.split(batch, source.events_left(done))
                prepared = staging.prepare(Batch(batch.buckets, staged, batch.cursor,
                                                 batch.done), source.notes)
                before = None
                if parts:
                    direct_cursor = batch.cursor
                    before = partial(self._publish_direct, job, parts, batch.cursor)
                prepared.state["direct"] = json.dumps(direct_cursor)
                writer.put(prepared, before)
                done = batch.done
                progress("reading", batch.done, source.total)

    def _check_sizes(self, events: list[StagedEvent]) -> None:
        """Refuse the whole import at the first event above the per-event limit, before
        it is published: the user can raise the limit and import again (nothing is
        dropped silently)."""
        limit = self.max_event_bytes
        quarter = limit // 4
        for bucket_id, start, _end, text in events:
            if len(text) > quarter and text_size(text) > limit:
                raise EventTooLarge(f"bucket '{bucket_id}': the event at {format_us(start)}",
                                    text_size(text), limit)

    def _publish_direct(self, job: _Job, parts: list[DirectPart], cursor: str) -> None:
        """One batch's direct parts and the cursor after it, in one transaction (in the
        staging writer's thread)."""
        buckets = dict(job.direct.buckets)
        origin = self.db.self_origin
        # This thread's own connection, which ends with it: sized as for publishing, and
        # leaving checkpoints to the `BackgroundCheckpointer` of `_read_batches`.
        self.db.conn().execute("PRAGMA main.cache_size = -65536")
        self.db.conn().execute("PRAGMA wal_autocheckpoint = 0")
        with self.cache.write() as conn:
            for part in parts:
                found = buckets.get(part.bucket_id)
                if found is None:
                    found = self._start_direct(conn, part)
                row = self.cache.rows.get(part.bucket_id)
                if row is None or row.key != found.key:
                    raise DirectBroken(f"bucket {part.bucket_id!r} was deleted meanwhile")
                first = found.first_id(part.count)
                seq = self.db.take_seqs(part.count)
                insert_events(conn, part.rows, first, found.first_origin_id(), row.key, origin,
                              seq)
                self.cache.grow_max_duration(conn, row, part.longest)
                self.cache.newest.pop(row.key, None)
                buckets[part.bucket_id] = replace(found, count=found.count + part.count,
                                                  last=part.last)
            state = DirectState(True, cursor, buckets)
            conn.execute("UPDATE import_job SET direct = ?, updated = ? WHERE id = ?",
                         (state.to_json(), _now(), job.id))
        job.direct = state

    def _start_direct(self, conn: sqlite3.Connection, part: DirectPart) -> DirectBucket:
        """Create the bucket and reserve its id block (moving the event table's counter,
        which also survives a restart, past it)."""
        meta = part.new
        if meta is None or meta.id in self.cache.rows:
            raise DirectBroken(f"bucket {part.bucket_id!r} was created meanwhile")
        self.buckets.create(Bucket(meta.id, meta.type, meta.client, meta.hostname,
                                  meta.created, meta.data, meta.name))
        low = self.cache.take_event_ids(part.capacity)
        high = low + part.capacity - 1
        if not conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'event'",
                            (high,)).rowcount:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('event', ?)", (high,))
        return DirectBucket(self.cache.rows[meta.id].key, low, high, part.descending, 0, 0)

    def _roll_back_direct(self, job: _Job, *, enabled: bool) -> None:
        """Remove what the job published directly: each bucket's id block, and the bucket
        itself (a tombstone that sync passes on) unless something else wrote to it, when
        each removed event gets its own tombstone instead."""
        with self.cache.write() as conn:
            for bucket_id, direct in job.direct.buckets.items():
                row = self.cache.rows.get(bucket_id)
                if row is None or row.key != direct.key:
                    continue  # deleted since
                block = (row.key, direct.low, direct.high)
                if conn.execute("SELECT 1 FROM event WHERE bucket = ? AND id NOT BETWEEN ? "
                                "AND ? LIMIT 1", block).fetchone() is None:
                    self.buckets.delete(bucket_id)
                    continue
                for origin, origin_id in conn.execute(
                        "SELECT origin, origin_id FROM event WHERE bucket = ? AND id BETWEEN "
                        "? AND ?", block).fetchall():
                    conn.execute("INSERT OR REPLACE INTO tombstone (origin, origin_id, "
                                 "origin_bucket_id, seq) VALUES (?, ?, ?, ?)",
                                 (origin, origin_id, bucket_id, self.db.next_seq()))
                conn.execute("DELETE FROM event WHERE bucket = ? AND id BETWEEN ? AND ?", block)
                row.last_seq = self.db.current_seq
                self.cache.newest.pop(row.key, None)
            state = DirectState(enabled)
            conn.execute("UPDATE import_job SET direct = ?, updated = ? WHERE id = ?",
                         (state.to_json(), _now(), job.id))
        job.direct = state

    def _publish(self, job: _Job, staging: Staging, source: BatchSource, resumed: bool,
                 progress: ProgressFn) -> ImportReport:
        buckets = staging.buckets()
        for _, bucket in buckets:
            found = self.cache.rows.get(bucket.id)
            if found is not None and found.readonly:
                raise Forbidden(f"bucket '{bucket.id}' is a read-only mirror of another device")
        direct = sum(d.count for d in job.direct.buckets.values())  # published already
        total = staging.count() + direct
        results = job.results
        done = sum(r[1] + r[2] for r in results.values())
        if job.start_pos is not None and job.bucket_pos < len(buckets):
            done = direct + sum(staging.count(o) for o, _ in buckets[: job.bucket_pos])
            done += staging.count_before(buckets[job.bucket_pos][0], job.start_pos)
        with self._attached(staging):
            for pos in range(job.bucket_pos, len(buckets)):
                after = job.start_pos if pos == job.bucket_pos else None
                done = self._publish_bucket(job, staging, pos, buckets[pos], after, done,
                                            total, progress)
        added, kept = self._publish_settings(job, staging.get("settings", {}))
        report = ImportReport(
            source=str(source.path), kind=source.kind,
            buckets=[ImportResult(b, bool(r[0]), int(r[1]), int(r[2]))
                     for b, r in sorted(results.items())],
            settings_added=added, settings_kept=kept,
            notes={k: int(v) for k, v in staging.get("notes", {}).items()}, resumed=resumed,
        )
        staging.remove()
        return report

    @contextmanager
    def _attached(self, staging: Staging) -> Iterator[None]:
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

    def _publish_bucket(self, job: _Job, staging: Staging, pos: int,
                        bucket: tuple[int, SourceBucket], after: int | None, done: int,
                        total: int, progress: ProgressFn) -> int:
        """Publish one bucket's staged rows from `after` on, one window per transaction,
        each also moving the job's resume point; returns the new progress count."""
        ord_, meta = bucket
        results = job.results
        while True:
            edge = staging.edge(ord_, after, self.publish_window)
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
                     json.dumps(results), _now(), job.id),
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

    def _publish_settings(self, job: _Job, settings: dict[str, Any]
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
                         (_now(), job.id))
        return added, kept
