"""Range reads straight into an `EventTable`, for the query engine.

Fetching a million rows through the sqlite3 module costs ~2 s in Python objects alone
(a tuple and four values per row, a str decoded for every `data`). Here SQLite itself
joins each column of a slice of the range into one text (`group_concat`, in C), numpy
parses the numbers, and the data texts are split and numbered at C speed, so Python
objects are made only for the few thousand distinct data dicts.

Two connections share the work, slice by slice: this thread and a helper thread each
take the next job (a slice's spans or a slice's data texts) until none is left. SQLite
runs without the interpreter lock, so the two use both cores. Each reads in its own
snapshot; per slice, the two jobs also report the row count, the highest id and a sum of
the starts, and a difference (a write landed between the snapshots) makes one
connection read everything again.

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
from itertools import chain

import numpy as np
from numpy.typing import NDArray

from aw_server.event_table import EventTable, Int64s, empty_table

logger = logging.getLogger(__name__)

Connect = Callable[[], sqlite3.Connection]
Params = tuple[int, int, int, int]  # bucket key, (after, until] of starts, clip start

# Between data texts: a JSON text never holds a raw control character (they are escaped
# inside strings), so splitting on it is exact; a count mismatch still falls back.
_SEPARATOR = b"\x1e"

# One slice of starts, in the order of `EventStore._range_rows` (newest first; ties by end,
# then id, both descending): the row-by-row fallback.
_SLICE = (
    "SELECT start, end, id, data FROM event WHERE bucket = ? AND start > ? AND start <= ? "
    "AND end >= ? ORDER BY start DESC, end DESC, id DESC"
)
# The slice jobs aggregate straight over the (bucket, start, end) index, which yields the
# rows in exactly the reverse order (and ~40 % faster than through an ordered subquery);
# each slice is then reversed. INDEXED BY pins that plan, so both jobs see one order.
_RANGE = (
    "FROM event INDEXED BY event_range "
    "WHERE bucket = ? AND start > ? AND start <= ? AND end >= ?"
)
# Per slice: (row count, highest id, sum of starts modulo a prime), equal in both jobs
# exactly when they read the same rows (up to an edit of one row's data in between).
_CHECK = "count(*), max(id), sum(start % 1000003)"
_SPANS = f"SELECT {_CHECK}, group_concat(start), group_concat(end), group_concat(id) {_RANGE}"
# As bytes: splitting and numbering them needs no UTF-8 decoding (only the distinct
# ones are parsed, and json.loads reads UTF-8 bytes).
_TEXTS = f"SELECT {_CHECK}, CAST(group_concat(data, char(30)) AS BLOB) {_RANGE}"
_COUNT = "SELECT count(*) FROM event WHERE bucket = ? AND start BETWEEN ? AND ? AND end >= ?"
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
class _Spans:
    check: tuple[int, int | None, int | None]
    start: Int64s
    end: Int64s
    ids: Int64s


@dataclass(frozen=True, slots=True)
class _Texts:
    check: tuple[int, int | None, int | None]
    distinct: list[bytes]  # in order of first appearance
    rows: NDArray[np.intp]  # each row's position in `distinct`


def _read_spans(conn: sqlite3.Connection, params: Params) -> _Spans:
    count, high_id, start_sum, starts, ends, ids = conn.execute(_SPANS, params).fetchone()
    return _Spans((count, high_id, start_sum), _numbers(starts, count)[::-1],
                  _numbers(ends, count)[::-1], _numbers(ids, count)[::-1])


def _read_texts(conn: sqlite3.Connection, params: Params) -> _Texts | None:
    """None if the texts cannot be read this way (a slice longer than SQLite's longest
    string, or a text holding the separator after all)."""
    try:
        count, high_id, start_sum, texts = conn.execute(_TEXTS, params).fetchone()
    except sqlite3.DataError:
        return None
    parts = texts.split(_SEPARATOR) if count else []
    if len(parts) != count:
        return None
    parts.reverse()
    position = {text: i for i, text in enumerate(dict.fromkeys(parts))}
    rows = np.fromiter(map(position.__getitem__, parts), dtype=np.intp, count=count)
    return _Texts((count, high_id, start_sum), list(position), rows)


Job = tuple[str, int]


def _work(connect: Connect, slices: list[Params], jobs: deque[Job],
          done: dict[Job, object]) -> None:
    """Take jobs until none is left, all in one snapshot of this thread's connection."""
    conn = connect()
    with _snapshot(conn):
        while True:
            try:
                kind, index = jobs.popleft()
            except IndexError:
                return
            read = _read_spans if kind == "spans" else _read_texts
            try:
                done[kind, index] = read(conn, slices[index])
            except sqlite3.Error as exc:  # e.g. a database without the range index:
                logger.debug("column read of a slice failed (%s); reading rows", exc)
                done[kind, index] = None  # the one-connection read takes over


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
        (total,) = conn.execute(_COUNT, (bucket_key, low, high, clip_start)).fetchone()
    slices: list[Params] = [
        (bucket_key, after, until, clip_start) for after, until in _slices(low, high, total)
    ]
    # Texts first in each pair: they are the longer job, and both threads start on one.
    jobs: deque[Job] = deque(
        (kind, index) for index in range(len(slices)) for kind in ("texts", "spans"))
    done: dict[Job, object] = {}
    helper = _helper_thread().submit(_work, connect, slices, jobs, done)
    _work(connect, slices, jobs, done)
    helper.result()
    spans = [done["spans", i] for i in range(len(slices))]
    texts = [done["texts", i] for i in range(len(slices))]
    if not all(isinstance(t, _Texts) and isinstance(s, _Spans) and t.check == s.check
               for s, t in zip(spans, texts, strict=True)):
        return _read_alone(conn, slices, clip_start, clip_end)
    return _assemble(spans, texts, clip_start, clip_end)  # type: ignore[arg-type]


def _assemble(
    spans: list[_Spans], texts: list[_Texts], clip_start: int, clip_end: int
) -> EventTable:
    if not any(len(s.start) for s in spans):
        return empty_table()
    # Number the distinct texts of all slices together, then map each slice's numbers.
    every = list(chain.from_iterable(part.distinct for part in texts))
    slot_of = {text: slot for slot, text in enumerate(dict.fromkeys(every))}
    mapping = np.fromiter(map(slot_of.__getitem__, every), dtype=np.intp, count=len(every))
    slots = []
    offset = 0
    for part in texts:
        slots.append(mapping[offset:offset + len(part.distinct)][part.rows])
        offset += len(part.distinct)
    start = np.concatenate([s.start for s in spans])
    end = np.concatenate([s.end for s in spans])
    ids = np.concatenate([s.ids for s in spans])
    slot = np.concatenate(slots)
    if not _in_range_order(start, end, ids):  # group_concat took the rows in another order
        order = np.lexsort((-ids, -end, -start))
        start, end, ids, slot = start[order], end[order], ids[order], slot[order]
    start = np.maximum(start, clip_start)
    end = np.minimum(end, clip_end)
    return EventTable(start, end - start, ids, slot, _parse(slot_of))


def _parse(texts: Iterable[bytes]) -> list[dict[str, object]]:
    # One parse of one JSON array: much cheaper than a json.loads per text.
    parsed: list[dict[str, object]] = json.loads(b"[" + b",".join(texts) + b"]")
    return parsed


def _in_range_order(start: Int64s, end: Int64s, ids: Int64s) -> bool:
    """(start, end, id) decreasing row to row, as _SLICE orders them."""
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
    start_values, end_values, ids, texts = zip(*rows, strict=True)
    slot_of: dict[bytes, int] = {}
    slot = np.fromiter((slot_of.setdefault(text.encode(), len(slot_of)) for text in texts),
                       dtype=np.intp, count=len(texts))
    start = np.maximum(np.asarray(start_values, dtype=np.int64), clip_start)
    end = np.minimum(np.asarray(end_values, dtype=np.int64), clip_end)
    return EventTable(start, end - start, np.asarray(ids, dtype=np.int64), slot,
                      _parse(slot_of))
