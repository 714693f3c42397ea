"""File import, the database side: jobs, reading into staging, direct publishing.

File imports (`ImportStore.run`) run in two phases, each resumable:
1. Reading: the source is streamed into a staging file beside the database, batch by
   batch, each committed with the source position after it. Every value is validated
   here, so a damaged or truncated source fails in this phase, and failing means deleting
   the staging file and the job row. Buckets the import creates, listed in time order,
   skip staging: they are published as they are read (`direct.py`), and taken back if
   the source fails; of the others nothing ever reached the database.
2. Publishing: staged events go into the database one time window of one bucket at a
   time (`publisher.py`).
The readers of import files live in `aw_server.transfer`; this package sees a source
only as a `BatchSource`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from aw_server.batches import Batch, BatchSource, ImportSourceError, StagedEvent
from aw_server.datastore.buckets import BucketStore
from aw_server.datastore.cache import BucketCache
from aw_server.datastore.database import Database
from aw_server.datastore.imports.checkpointer import BackgroundCheckpointer
from aw_server.datastore.imports.direct import (
    DirectBroken,
    DirectBucket,
    DirectPart,
    DirectPlanner,
    DirectState,
    insert_events,
)
from aw_server.datastore.imports.jobs import (
    JOB_COLUMNS,
    ImportReport,
    ImportResult,
    Job,
    ProgressFn,
    now,
)
from aw_server.datastore.imports.publisher import Publisher
from aw_server.datastore.imports.staging import Staging, StagingWriter
from aw_server.datastore.rows import text_size
from aw_server.errors import EventTooLarge, Forbidden
from aw_server.gc_pause import gc_paused
from aw_server.models import Bucket, format_us

log = logging.getLogger(__name__)

# One file import at a time per process: two imports resuming the same job would
# publish its windows twice. (Another process is kept out by `aw-server import`, which
# refuses while a server of the database answers.)
_IMPORT_LOCK = threading.Lock()


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
        self.publisher = Publisher(db, cache, buckets)

    # -- merging -----------------------------------------------------------------------
    def _staging_path(self, job_id: int) -> str:
        if self.db.path == ":memory:":
            return os.path.join(tempfile.gettempdir(), f"aw-import-{os.getpid()}-{job_id}.sqlite")
        return f"{self.db.path}.import-{job_id}.sqlite"

    def _open_job(self, source_path: str, kind: str, fingerprint: str) -> tuple[Job, bool]:
        """The unfinished job of this source if the file is unchanged, else a new one."""
        with self.cache.write() as conn:
            found = conn.execute(
                f"SELECT {JOB_COLUMNS}, fingerprint FROM import_job WHERE source = ? "
                "AND phase != 'done' ORDER BY id DESC", (source_path,),
            ).fetchall()
            for row in found:
                job, fp = Job.from_row(row), row[7]
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
                (source_path, kind, fingerprint, now(), now()),
            )
            job_id = int(cur.lastrowid or 0)
            staging = self._staging_path(job_id)
            conn.execute("UPDATE import_job SET staging = ? WHERE id = ?", (staging, job_id))
        return Job(job_id, staging, "reading", 0, None, {}, DirectState()), False

    def _forget(self, conn: sqlite3.Connection, job: Job) -> None:
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
                f"SELECT {JOB_COLUMNS}, source FROM import_job WHERE phase != 'done'"
            ).fetchall():
                if not Path(row[7]).exists():
                    self._forget(conn, Job.from_row(row))
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

    def _read(self, job: Job, source: BatchSource, staging: Staging,
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
                         "WHERE id = ?", (json.dumps(job.results), now(), job.id))
        job.phase = "publishing"

    def _read_batches(self, job: Job, source: BatchSource, staging: Staging,
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

    def _publish_direct(self, job: Job, parts: list[DirectPart], cursor: str) -> None:
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
                              seq, self.db.data)
                self.cache.grow_max_duration(conn, row, part.longest)
                self.cache.newest.pop(row.key, None)
                buckets[part.bucket_id] = replace(found, count=found.count + part.count,
                                                  last=part.last)
            state = DirectState(True, cursor, buckets)
            conn.execute("UPDATE import_job SET direct = ?, updated = ? WHERE id = ?",
                         (state.to_json(), now(), job.id))
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

    def _roll_back_direct(self, job: Job, *, enabled: bool) -> None:
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
                        "SELECT origin, coalesce(origin_id, id) FROM event WHERE bucket = ? "
                        "AND id BETWEEN "
                        "? AND ?", block).fetchall():
                    conn.execute("INSERT OR REPLACE INTO tombstone (origin, origin_id, "
                                 "origin_bucket_id, seq) VALUES (?, ?, ?, ?)",
                                 (origin, origin_id, bucket_id, self.db.next_seq()))
                conn.execute("DELETE FROM event WHERE bucket = ? AND id BETWEEN ? AND ?", block)
                row.last_seq = self.db.current_seq
                self.cache.newest.pop(row.key, None)
            state = DirectState(enabled)
            conn.execute("UPDATE import_job SET direct = ?, updated = ? WHERE id = ?",
                         (state.to_json(), now(), job.id))
        job.direct = state

    def _publish(self, job: Job, staging: Staging, source: BatchSource, resumed: bool,
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
        with self.publisher.attached(staging):
            for pos in range(job.bucket_pos, len(buckets)):
                after = job.start_pos if pos == job.bucket_pos else None
                done = self.publisher.publish_bucket(job, staging, pos, buckets[pos], after,
                                                     done, total, progress,
                                                     self.publish_window)
        added, kept = self.publisher.publish_settings(job, staging.get("settings", {}))
        report = ImportReport(
            source=str(source.path), kind=source.kind,
            buckets=[ImportResult(b, bool(r[0]), int(r[1]), int(r[2]))
                     for b, r in sorted(results.items())],
            settings_added=added, settings_kept=kept,
            notes={k: int(v) for k, v in staging.get("notes", {}).items()}, resumed=resumed,
        )
        staging.remove()
        return report

