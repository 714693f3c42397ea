"""The staging file of one import: what was read from the source, waiting to be published.

It lives beside the database (`<db>.import-<job>.sqlite`) rather than inside it, so a
big import never leaves the main file bloated with freed pages, and throwing a failed
import away is deleting one file. Each batch from the source is committed together with
the source cursor after it, so an interrupted read continues where it stopped.

Batches are written by `StagingWriter` in a thread of their own, each as one JSON text
that SQLite spreads into rows (so the writing needs no interpreter lock while the reading
thread parses on). `Staging` notes which buckets' rows are adjacent and in time order,
oldest or newest first (ActivityWatch exports newest first): publishing copies a window
of those by rowid range (`windows.insert_window_sql`). The file is disposable: a rollback journal
without fsync.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby, islice
from operator import ge, itemgetter, le
from pathlib import Path
from typing import Any

import orjson

from aw_server.batches import Batch, SourceBucket, StagedEvent
from aw_server.datastore.imports.windows import ASCENDING, DESCENDING, low_bound

_TABLES = [
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS bucket (
        ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, meta TEXT)""",
    """CREATE TABLE IF NOT EXISTS staged (
        bucket INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
        data TEXT NOT NULL)""",
    # Kept up to date by every batch, in the staging writer's thread, rather than
    # built at the end of reading in one go, while nothing else can run.
    "CREATE INDEX IF NOT EXISTS staged_order ON staged (bucket, start)",
]


_INT64_MAX = 2**63 - 1
_BUCKET, _START, _END = itemgetter(0), itemgetter(1), itemgetter(2)
_MAX_PACKED = 256 * 1024 * 1024
# Up to this many buckets in a batch, SQLite numbers its rows' buckets by a CASE over
# their ids (a third of the insert's time less than looking each row's up).
_CASE_BUCKETS = 8


@dataclass(slots=True)
class PreparedBatch:
    new_buckets: list[tuple[int, str]]  # (ord, id)
    metas: list[tuple[str, str]]  # (meta JSON, id)
    base: int  # the rowid before the batch's first row
    packed: bytes | None  # the events as one JSON array, or None: then `rows`
    ords: list[tuple[str, int]]  # the buckets of `packed`, with their numbers here
    rows: list[tuple[int, int, int, int, str]] | None
    state: dict[str, str]  # state keys and their JSON values after this batch


class Staging:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._open()

    def _open(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # A rollback journal, not WAL: rows appended to a table land on new pages, which a
        # rollback journal does not copy and WAL would write twice. Still atomic per
        # batch when the process dies (kill -9); no fsync, as after a power cut the
        # import can start over (the file is disposable).
        self.conn.execute("PRAGMA journal_mode = truncate")
        self.conn.execute("PRAGMA synchronous = off")
        self.conn.execute("PRAGMA cache_size = -32768")
        for statement in _TABLES:
            self.conn.execute(statement)
        self._load()
        if not self._ords and self.get("cursor") is None:
            # A new file: its buckets are published in the source's order (files staged
            # by earlier versions keep id order, which their resume point counts in).
            self._put("bucket_order", "source")

    def _load(self) -> None:
        """What `add` keeps in memory, as last committed."""
        self._ords: dict[str, int] = dict(
            (bucket_id, ord_) for ord_, bucket_id in self.conn.execute("SELECT ord, id FROM bucket")
        )
        self._rowid = int(self.conn.execute("SELECT max(rowid) FROM staged").fetchone()[0] or 0)
        # Per bucket ord: [start of its last row, rowid of its last row, whether its rows
        # are adjacent and oldest first so far, whether adjacent and newest first]. A
        # file staged before this was kept has none: its buckets count as out of order;
        # one staged before newest first was tracked has three items.
        saved = self.get("order")
        self._order: dict[int, list[Any]] = (
            {int(k): [*v, False][:4] for k, v in saved.items()} if saved is not None
            else {o: [0, -1, False, False] for o in self._ords.values()} if self._rowid
            else {})
        self._untracked = {b: o for b, o in self._ords.items()
                           if o in self._order and not any(self._order[o][2:])}
        self._new_buckets: list[tuple[int, str]] = []

    # -- state -----------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        found = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else default

    def _put(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                          (key, json.dumps(value)))

    # -- reading phase ------------------------------------------------------------------
    def _ord(self, bucket_id: str) -> int:
        """The bucket's number here; a new one is numbered in memory and inserted with the
        batch that brought it (by `write`, so `prepare` never touches the file)."""
        found = self._ords.get(bucket_id)
        if found is None:
            found = self._ords[bucket_id] = max(self._ords.values(), default=0) + 1
            self._new_buckets.append((found, bucket_id))
        return found

    def add(self, batch: Batch, notes: Counter[str]) -> None:
        """One batch and the cursor after it, atomically."""
        self.write(self.prepare(batch, notes))

    def prepare(self, batch: Batch, notes: Counter[str]) -> PreparedBatch:
        """The batch as `write` stores it: the Python part of staging it, done in the
        reading thread so that `write` can run in another (see `StagingWriter`)."""
        self._new_buckets = []
        metas = []
        for bucket in batch.buckets:
            self._ord(bucket.id)
            meta = {"type": bucket.type, "client": bucket.client,
                    "hostname": bucket.hostname, "created": bucket.created,
                    "data": bucket.data, "name": bucket.name}
            metas.append((json.dumps(meta), bucket.id))
        base = self._rowid
        self._track(batch.events)
        state = {"order": json.dumps(self._order), "cursor": json.dumps(batch.cursor),
                 "done": json.dumps(batch.done), "notes": json.dumps(dict(notes))}
        packed, rows = self._pack(batch.events, base)
        ords = [(b, self._ords[b]) for b in set(map(_BUCKET, batch.events))]
        return PreparedBatch(self._new_buckets, metas, base, packed, ords, rows, state)

    def _pack(self, events: list[StagedEvent], base: int
              ) -> tuple[bytes | None, list[tuple[int, int, int, int, str]] | None]:
        """The events as one JSON text, which SQLite spreads into rows: the whole insert
        then runs without the interpreter lock, and no row is built in Python. Exact for
        these values (tests/aw_server/transfer/test_fast_import.py); else (None, rows)."""
        packed = pack_events(events)
        if packed is not None:
            return packed, None
        ords = self._ords
        return None, [(base + i, ords[b], start, end, data)
                      for i, (b, start, end, data) in enumerate(events, 1)]

    def write(self, prepared: PreparedBatch) -> None:
        """Store a prepared batch in one transaction. On failure the file is as before and
        the memory of `prepare` is reloaded from it."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO bucket (ord, id) VALUES (?, ?)", prepared.new_buckets)
            # The first description of a bucket id wins, as in one import document.
            conn.executemany("UPDATE bucket SET meta = ? WHERE id = ? AND meta IS NULL",
                             prepared.metas)
            if prepared.packed is not None:
                bucket = "(SELECT ord FROM bucket WHERE id = value ->> 0)"
                numbers: list[str | int] = []
                if 0 < len(prepared.ords) <= _CASE_BUCKETS:
                    bucket = f"CASE value ->> 0 {' WHEN ? THEN ?' * len(prepared.ords)} END"
                    numbers = [x for pair in prepared.ords for x in pair]
                conn.execute("INSERT INTO staged (rowid, bucket, start, end, data) SELECT "
                             f"? + key + 1, {bucket}, value ->> 1, value ->> 2, value ->> 3 "
                             "FROM json_each(?)", (prepared.base, *numbers, prepared.packed))
            else:  # row by row (see `_pack`); an end beyond 64 bits raises, as it did
                conn.executemany("INSERT INTO staged (rowid, bucket, start, end, data) "
                                 "VALUES (?, ?, ?, ?, ?)", prepared.rows or [])
            conn.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                             list(prepared.state.items()))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._load()
            raise

    def _track(self, events: list[StagedEvent]) -> None:
        """Number the rows and note, for each bucket, whether its rows stay adjacent and
        in start order, either way (see `direction`); per run of one bucket's rows, in C
        calls. Once every bucket of a batch is out of order (as when a source interleaves
        them), the batch is only counted."""
        if set(map(_BUCKET, events)) <= self._untracked.keys():
            self._rowid += len(events)
            return
        rowid = self._rowid
        for bucket_id, group in groupby(events, _BUCKET):
            starts = list(map(_START, group))
            ord_ = self._ord(bucket_id)
            if bucket_id not in self._untracked:
                up = all(map(le, starts, islice(starts, 1, None)))
                down = all(map(ge, starts, islice(starts, 1, None)))
                state = self._order.get(ord_)
                if state is not None:  # in order so far, adjacent, and still in order
                    adjacent = state[1] == rowid
                    up = up and state[2] and adjacent and state[0] <= starts[0]
                    down = down and state[3] and adjacent and state[0] >= starts[0]
                self._note(bucket_id, ord_, starts[-1], rowid + len(starts), up, down)
            rowid += len(starts)
        self._rowid = rowid

    def _note(self, bucket_id: str, ord_: int, last: int, rowid: int, up: bool, down: bool
              ) -> None:
        self._order[ord_] = [last, rowid, up, down]
        if not (up or down):
            self._untracked[bucket_id] = ord_

    def finish(self, settings: dict[str, Any]) -> None:
        """Reading is complete: record the settings (and index a file staged by a version
        that indexed only here)."""
        missing = [r[0] for r in self.conn.execute("SELECT id FROM bucket WHERE meta IS NULL")]
        if missing:
            raise ValueError(f"events for buckets without a description: {missing[:5]}")
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("CREATE INDEX IF NOT EXISTS staged_order ON staged (bucket, start)")
        self._put("settings", settings)
        self._put("read", True)
        self.conn.execute("COMMIT")

    # -- publishing phase ---------------------------------------------------------------
    def buckets(self) -> list[tuple[int, SourceBucket]]:
        """In the order the source lists them, so the import creates them in that order
        (as ActivityWatch's import does)."""
        order = "ord" if self.get("bucket_order") == "source" else "id"
        out = []
        for ord_, bucket_id, meta in self.conn.execute(
            f"SELECT ord, id, meta FROM bucket ORDER BY {order}"
        ):
            m = json.loads(meta)
            out.append((ord_, SourceBucket(bucket_id, m["type"], m["client"], m["hostname"],
                                           m["created"], m["data"], m["name"])))
        return out

    def direction(self, ord_: int) -> str | None:
        """ASCENDING or DESCENDING when the bucket's rows are adjacent and in start order
        (oldest or newest first), so any window of it is the rowid range of its first to
        its last row, in publishing order read forwards or backwards; else None."""
        state = self._order.get(ord_)
        if state is None:
            return None
        return ASCENDING if state[2] else DESCENDING if state[3] else None

    def count(self, ord_: int | None = None) -> int:
        if ord_ is None:
            return int(self.conn.execute("SELECT count(*) FROM staged").fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM staged WHERE bucket = ?",
                                     (ord_,)).fetchone()[0])

    def count_before(self, ord_: int, start: int) -> int:
        return int(self.conn.execute(
            "SELECT count(*) FROM staged WHERE bucket = ? AND start <= ?", (ord_, start)
        ).fetchone()[0])

    def edge(self, ord_: int, after: int | None, size: int) -> int | None:
        """The start of the `size`-th row of a bucket after `after`, which ends its next
        window; None if fewer rows are left."""
        direction = self.direction(ord_)
        if direction is None:
            found = self.conn.execute(
                "SELECT start FROM staged WHERE bucket = ? AND start > ? ORDER BY start "
                "LIMIT 1 OFFSET ?", (ord_, low_bound(after), size - 1)
            ).fetchone()
            return None if found is None else int(found[0])
        # The bucket's rows after `after` are a rowid range that starts (oldest first) or
        # ends (newest first) with the rows of the next start: the `size`-th row is found
        # by counting rowids, without stepping over `size` index entries.
        nearest = "min" if direction == ASCENDING else "max"
        found = self.conn.execute(
            f"SELECT {nearest}(rowid) FROM staged WHERE bucket = ? AND start = (SELECT "
            "min(start) FROM staged WHERE bucket = ? AND start > ?)",
            (ord_, ord_, low_bound(after))).fetchone()
        if found[0] is None:
            return None
        step = size - 1 if direction == ASCENDING else 1 - size
        row = self.conn.execute("SELECT bucket, start FROM staged WHERE rowid = ?",
                                (int(found[0]) + step,)).fetchone()
        return int(row[1]) if row is not None and row[0] == ord_ else None

    def has_after(self, ord_: int, start: int) -> bool:
        return self.conn.execute("SELECT 1 FROM staged WHERE bucket = ? AND start > ? LIMIT 1",
                                 (ord_, start)).fetchone() is not None

    def has_rows(self, bucket_id: str) -> bool:
        """Whether rows of the bucket were staged (or prepared for staging)."""
        ord_ = self._ords.get(bucket_id)
        return ord_ is not None and (ord_ in self._order or bucket_id in self._untracked)

    def close(self) -> None:
        self.conn.close()

    def reset(self) -> None:
        """Empty, as if just created."""
        self.remove()
        self._open()

    def remove(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{self.path}{suffix}")


def pack_events(events: list[StagedEvent]) -> bytes | None:
    """The events as one JSON array for SQLite to spread into rows (`json_each`), or None
    when they must go row by row: an end beyond 64 bits, a text beyond what SQLite takes
    (1e9 bytes), or a NUL, at which its JSON functions cut a string. (A stored `data` is
    JSON, which has NULs only as the escape `\\u0000`; that matches here too, and costs
    only the detour.)"""
    if max(map(_END, events), default=0) > _INT64_MAX:
        return None
    try:
        packed = orjson.dumps(events)
    except TypeError:
        return None
    if len(packed) > _MAX_PACKED or b"\\u0000" in packed:
        return None
    return packed


class StagingWriter:
    """Writes prepared batches in a thread of its own, while the reading thread parses
    the next: SQLite runs without the interpreter lock, so the two share two cores. At
    most one batch waits; an error of the writer is raised in the reading thread by the
    next `put` or by leaving the `with` block. The staging file must not be used by
    anything else until the block is left.

    `prompt`: the writer's thread comes back from SQLite many times per batch (once per
    statement when publishing directly, see `direct.py`), and each time waits for the
    reading thread to give up the interpreter lock, which it does only every switch
    interval (5 ms by default, 1 ms in the server). When the writer carries most of the
    work, those waits add up to a second per 100 MB; a 0.1 ms interval meanwhile cuts
    them down (measured in docs/import-export.md)."""

    _PROMPT_INTERVAL = 0.0001

    def __init__(self, staging: Staging, *, prompt: bool = False) -> None:
        self.staging = staging
        self._prompt = prompt
        self._interval = sys.getswitchinterval()
        self._queue: queue.Queue[tuple[PreparedBatch, Callable[[], None] | None] | None] = \
            queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="aw-import-staging",
                                        daemon=True)

    def __enter__(self) -> StagingWriter:
        if self._prompt:
            sys.setswitchinterval(min(self._interval, self._PROMPT_INTERVAL))
        self._thread.start()
        return self

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                prepared, before = item
                try:
                    if before is not None:
                        before()
                    self.staging.write(prepared)
                except BaseException as exc:  # handed to the reading thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, prepared: PreparedBatch, before: Callable[[], None] | None = None) -> None:
        """`before` runs in the writer's thread just before the batch is written."""
        self._raise()
        self._queue.put((prepared, before))

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        sys.setswitchinterval(self._interval)
        if kind is None:
            self._raise()
