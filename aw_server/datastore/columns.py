"""Range reads straight into an `EventTable`, for the query engine.

Fetching a million rows through the sqlite3 module costs ~2 s in Python objects alone
(a tuple and four values per row). Here SQLite itself joins each column of a slice of
the range into one text (`group_concat`, in C) and numpy parses the numbers: start, end
and id, and each row's data id (`interning.py`). The distinct data texts are then read
once from `event_data`, only those of the ids present, so Python objects are made only
for the few thousand distinct data dicts.

Two connections share the work, slice by slice: this thread and a helper thread each
take the next slice until none is left. SQLite runs without the interpreter lock, so the
two use both cores. Each reads in its own snapshot; `PRAGMA data_version` read around the
two snapshots' starts proves them the same (`_SnapshotPair`). Without that proof (a write
landed in between) each also reads a fingerprint of the whole range from the index (row
count, highest id, a sum of the starts), and a difference makes one connection read
everything again.

Only the query worker loads this module (it imports numpy): the server process stays
small.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from aw_server.event_table import EventTable, Indices, Int64s, empty_table

logger = logging.getLogger(__name__)

Connect = Callable[[], sqlite3.Connection]
Params = tuple[int, int, int, int]  # bucket key, (after, until] of starts, clip start

# One slice of starts, in the order of `EventStore._range_rows` (newest first; ties by end,
# then id, both descending): the row-by-row fallback.
_SLICE = (
    "SELECT start, end, id, data_id FROM event WHERE bucket = ? AND start > ? "
    "AND start <= ? AND end >= ? ORDER BY start DESC, end DESC, id DESC"
)
# The slice jobs aggregate straight over the (bucket, start) index, which yields the
# rows in exactly the reverse order (and ~40 % faster than through an ordered subquery);
# each slice is then reversed. INDEXED BY pins that plan. Each row is read once, all four
# columns together (the row holds end and data_id; the index only start and id).
_RANGE = (
    "FROM event INDEXED BY event_range "
    "WHERE bucket = ? AND start > ? AND start <= ? AND end >= ?"
)
_COLUMNS = ("SELECT count(*), group_concat(start), group_concat(end), group_concat(id), "
            f"group_concat(data_id) {_RANGE}")
# What each thread's snapshot holds of the whole range, from the index alone: (row count,
# highest id, sum of starts modulo a prime). Equal in both exactly when they hold the same
# rows (up to an in-place edit of one row's end or data between the two snapshots).
_FINGERPRINT = ("SELECT count(*), max(id), sum(start % 1000003) FROM event "
                "INDEXED BY event_range WHERE bucket = ? AND start BETWEEN ? AND ?")
# The texts of the data ids read, each once.
_TEXTS = "SELECT id, text FROM event_data WHERE id IN (SELECT value FROM json_each(?))"
# Only sizes the slices: counted from the range index alone (no `end` there), so it may
# count a few rows that end before the range.
_COUNT = "SELECT count(*) FROM event WHERE bucket = ? AND start BETWEEN ? AND ?"
# Rows per slice (by an even spread of the rows over time): bounds the transient texts
# to a few MB whatever the range holds.
SLICE_ROWS = 50_000

_helper: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def _helper_thread() -> ThreadPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="column-read")
        return _helper


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so every slice comes from the same state of the file."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        yield
    finally:
        if own:
            conn.execute("COMMIT")


def _numbers(text: str | None, count: int) -> Int64s:
    numbers = np.fromstring(text or "", dtype=np.int64, sep=",")
    if len(numbers) != count:
        raise ValueError("column text did not parse to one number per row")
    return numbers


def _slices(low: int, high: int, rows: int) -> list[tuple[int, int]]:
    """(after, until] start ranges covering [low, high], newest first."""
    count = max(1, -(-rows // SLICE_ROWS))
    width = -(-(high - low + 1) // count)
    bounds = [min(low - 1 + width * i, high) for i in range(count + 1)]
    bounds[-1] = high
    return [(bounds[i - 1], bounds[i]) for i in range(count, 0, -1) if bounds[i - 1] < bounds[i]]


@dataclass(frozen=True, slots=True)
class _Slice:
    start: Int64s
    end: Int64s
    ids: Int64s
    data_ids: Int64s


def _read_slice(conn: sqlite3.Connection, params: Params) -> _Slice:
    count, starts, ends, ids, data_ids = conn.execute(_COLUMNS, params).fetchone()
    return _Slice(_numbers(starts, count)[::-1], _numbers(ends, count)[::-1],
                  _numbers(ids, count)[::-1], _numbers(data_ids, count)[::-1])


Fingerprint = tuple[int, int | None, int | None]
# How long a thread waits for the other's step in `_SnapshotPair` before it stops relying
# on it (the fingerprints then decide); the helper normally answers within a millisecond.
_PAIR_WAIT_S = 0.5


class _SnapshotPair:
    """Proves, mostly for free, that the two threads read the same state of the file.

    `PRAGMA data_version` changes on a connection exactly when another connection
    committed since it last looked; inside a transaction it is read as the snapshot
    starts. The helper reads it outside a transaction, then the main thread starts its
    snapshot, then the helper starts its own and reads it again: unchanged means no
    commit between the two starts, so both snapshots hold the same rows. Only otherwise
    do both threads scan the whole range for a fingerprint (~0.5 s for 5M events)."""

    def __init__(self) -> None:
        self.helper_looked = threading.Event()
        self.main_began = threading.Event()
        self.verdict = threading.Event()
        self.in_order = False
        self.looked = False
        self.before = -1
        self.same = False

    def helper_look(self, conn: sqlite3.Connection) -> None:
        """Before the helper's snapshot: the version, then wait for the main thread's."""
        if conn.in_transaction:  # it would not see other commits: no proof
            self.helper_looked.set()
            self.verdict.set()
            return
        (self.before,) = conn.execute("PRAGMA data_version").fetchone()
        self.helper_looked.set()
        self.looked = self.main_began.wait(_PAIR_WAIT_S)

    def helper_began(self, conn: sqlite3.Connection) -> None:
        """At the start of the helper's snapshot: the verdict."""
        try:
            if self.looked and self.in_order:
                (after,) = conn.execute("PRAGMA data_version").fetchone()
                self.same = after == self.before
        finally:
            self.verdict.set()

    def main_begin(self, conn: sqlite3.Connection, fresh: bool) -> None:
        """Start the main thread's snapshot, after the helper looked; `fresh`: the
        transaction is the one `_snapshot` just began (an older one proves nothing)."""
        self.in_order = fresh and self.helper_looked.wait(_PAIR_WAIT_S)
        conn.execute("PRAGMA data_version").fetchone()  # the snapshot starts here
        self.main_began.set()

    def proven(self) -> bool:
        return self.verdict.wait(_PAIR_WAIT_S) and self.same


def _work(connect: Connect, whole: tuple[int, int, int], slices: list[Params],
          jobs: deque[int], done: dict[int, _Slice | None],
          fingerprints: list[Fingerprint | None], pair: _SnapshotPair, helper: bool) -> None:
    """Take slices until none is left, all in one snapshot of this thread's connection;
    unless `pair` proves both snapshots the same, then read its fingerprint of the whole
    range (`whole`) in that snapshot."""
    conn = connect()
    fresh = not conn.in_transaction
    if helper:
        pair.helper_look(conn)
    with _snapshot(conn):
        if helper:
            pair.helper_began(conn)
        else:
            pair.main_begin(conn, fresh)
        while True:
            try:
                index = jobs.popleft()
            except IndexError:
                break
            try:
                done[index] = _read_slice(conn, slices[index])
            except sqlite3.Error as exc:
                logger.debug("column read of a slice failed (%s); reading rows", exc)
                done[index] = None  # the one-connection read takes over
        if pair.proven():
            return
        try:
            fingerprints.append(tuple(conn.execute(_FINGERPRINT, whole).fetchone()))
        except sqlite3.Error as exc:  # e.g. a database without the range index
            logger.debug("column read failed (%s); reading rows", exc)
            fingerprints.append(None)


def read_table(
    connect: Connect, bucket_key: int, low: int, high: int, clip_start: int, clip_end: int,
    rows_hint: int | None = None,
) -> EventTable:
    """Rows of bucket `bucket_key` with start in [low, high] and end >= clip_start, newest
    first, with spans clipped to [clip_start, clip_end]. `connect()` gives the calling
    thread's connection; `rows_hint` (about how many rows) only sizes the slices."""
    conn = connect()
    total = rows_hint
    if total is None:
        (total,) = conn.execute(_COUNT, (bucket_key, low, high)).fetchone()
    slices: list[Params] = [
        (bucket_key, after, until, clip_start) for after, until in _slices(low, high, total)
    ]
    jobs: deque[int] = deque(range(len(slices)))
    done: dict[int, _Slice | None] = {}
    fingerprints: list[Fingerprint | None] = []
    whole = (bucket_key, low, high)
    pair = _SnapshotPair()
    helper = _helper_thread().submit(_work, connect, whole, slices, jobs, done, fingerprints,
                                     pair, True)
    _work(connect, whole, slices, jobs, done, fingerprints, pair, False)
    helper.result()
    parts = [part for index in range(len(slices)) if (part := done.get(index)) is not None]
    if len(parts) != len(slices) or None in fingerprints or len(set(fingerprints)) > 1:
        # A write landed between the two snapshots (or a slice could not be read).
        return _read_alone(conn, slices, clip_start, clip_end)
    start = np.concatenate([p.start for p in parts])
    if not len(start):
        return empty_table()
    end = np.concatenate([p.end for p in parts])
    ids = np.concatenate([p.ids for p in parts])
    data_ids = np.concatenate([p.data_ids for p in parts])
    if not _in_range_order(start, end, ids):  # group_concat took the rows in another order
        order = np.lexsort((-ids, -end, -start))
        start, end, ids, data_ids = start[order], end[order], ids[order], data_ids[order]
    found = _with_datas(conn, start, end, ids, data_ids, clip_start, clip_end)
    return found if found is not None else _read_alone(conn, slices, clip_start, clip_end)


def _with_datas(conn: sqlite3.Connection, start: Int64s, end: Int64s, ids: Int64s,
                data_ids: Int64s, clip_start: int, clip_end: int) -> EventTable | None:
    """The table, its `datas` numbered in order of first appearance (as the row-by-row
    read numbers them); None if a data id has no text (only a damaged file)."""
    wanted, slot = _number_by_appearance(data_ids)
    text_of = dict(conn.execute(_TEXTS, (json.dumps(wanted),)).fetchall())
    if len(text_of) != len(wanted):
        logger.warning("event data missing for %d ids", len(wanted) - len(text_of))
        return None
    # In place: each new array of a year's 5M rows is 40 MB of fresh pages to fault in
    # (the worker gives freed memory back at once), up to ~0.2 s apiece on a busy host.
    np.maximum(start, clip_start, out=start)
    np.minimum(end, clip_end, out=end)
    duration = np.subtract(end, start, out=end)
    return EventTable(start, duration, ids, slot, _parse(map(text_of.__getitem__, wanted)))


def _number_by_appearance(data_ids: Int64s) -> tuple[list[int], Indices]:
    """(the distinct data ids in order of first appearance, each row's position there).
    Ids are small dense integers, so a table indexed by id does it without a sort
    (np.unique's was ~8x slower on a million rows); a sparse few fall back to it."""
    rows = len(data_ids)
    top = int(data_ids.max()) + 1
    if top > 4 * rows + 1024:
        distinct, first_row, inverse = np.unique(data_ids, return_index=True,
                                                 return_inverse=True)
        order = np.argsort(first_row, kind="stable")
        position = np.empty(len(distinct), dtype=np.intp)
        position[order] = np.arange(len(distinct), dtype=np.intp)
        return distinct[order].tolist(), position[inverse.reshape(-1)]
    first = _first_rows(data_ids, top)
    used = np.flatnonzero(first < rows)
    in_order = used[np.argsort(first[used], kind="stable")]
    position = np.full(top, -1, dtype=np.intp)
    position[in_order] = np.arange(len(in_order), dtype=np.intp)
    return in_order.tolist(), position[data_ids]


def _first_rows(data_ids: Indices, top: int) -> Indices:
    """For each id below `top`, the first row holding it (len(data_ids) if none).

    Assigning every row's number to its id, last row first, leaves the first row's number
    (numpy writes repeated indices in order); ~10x faster than `np.minimum.at`. Two
    checks prove the result (each id's row holds that id; no row of an id comes before
    it), so a numpy writing in another order only costs the slow way."""
    rows = len(data_ids)
    numbers = np.arange(rows, dtype=np.intp)
    first = np.full(top, rows, dtype=np.intp)
    first[data_ids[::-1]] = numbers[::-1]
    used = first < rows
    if bool((data_ids[first[used]] == np.flatnonzero(used)).all()) and bool(
            (first[data_ids] <= numbers).all()):
        return first
    first.fill(rows)
    np.minimum.at(first, data_ids, numbers)
    return first


def _parse(texts: Iterable[str]) -> list[dict[str, object]]:
    # One parse of one JSON array: much cheaper than a json.loads per text.
    parsed: list[dict[str, object]] = json.loads("[" + ",".join(texts) + "]")
    return parsed


def _in_range_order(start: Int64s, end: Int64s, ids: Int64s) -> bool:
    """(start, end, id) decreasing row to row, as _SLICE orders them."""
    if bool((start[1:] < start[:-1]).all()):  # the usual case: no two starts equal
        return True
    later_start = start[1:] < start[:-1]
    same_start = start[1:] == start[:-1]
    later_end = end[1:] < end[:-1]
    same_end = end[1:] == end[:-1]
    ordered = later_start | (same_start & (later_end | (same_end & (ids[1:] < ids[:-1]))))
    return bool(ordered.all())


def _read_alone(
    conn: sqlite3.Connection, slices: list[Params], clip_start: int, clip_end: int
) -> EventTable:
    """Row by row on one connection: when the two jobs of a slice disagreed, or a slice's
    texts could not be split."""
    with _snapshot(conn):
        rows = [row for params in slices for row in conn.execute(_SLICE, params)]
        if not rows:
            return empty_table()
        start_values, end_values, ids, data_ids = zip(*rows, strict=True)
        found = _with_datas(conn, np.asarray(start_values, dtype=np.int64),
                            np.asarray(end_values, dtype=np.int64),
                            np.asarray(ids, dtype=np.int64),
                            np.asarray(data_ids, dtype=np.int64), clip_start, clip_end)
    if found is None:
        raise sqlite3.DatabaseError("event rows refer to data the database does not hold")
    return found
