"""The SQL of one publishing window: the staged rows of one bucket with a start in
(after, edge], read from the staging file while it is attached to the database's
connection under a schema name.

`Staging` decides where windows end; these functions count a window, read it for the
compare-in-Python path, or copy it into the event table in one statement.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# A bucket's staged rows are adjacent and in time order, oldest or newest first.
ASCENDING, DESCENDING = "ascending", "descending"


def low_bound(after: int | None) -> int:
    """`after` for SQL: None (from the first row) as the lowest integer."""
    return -(2**63) if after is None else after


def high_bound(edge: int | None) -> int:
    """`edge` for SQL: None (to the last row) as the highest integer."""
    return 2**63 - 1 if edge is None else edge


def _ties(direction: str | None) -> str:
    """How rows of equal start are ordered for publishing: as they were read, but in a
    bucket read newest first, reversed with the rest; so a newest-first export (such as
    ours, whose ties are newest id first) comes back in its original order."""
    return "rowid DESC" if direction == DESCENDING else "rowid"


def window_rows(conn: sqlite3.Connection, schema: str, ord_: int, after: int | None,
                edge: int | None, direction: str | None) -> list[tuple[int, int, str]]:
    """The rows of a window (start in (after, edge]) in publishing order, read through
    `conn`, where the staging file is attached as `schema`."""
    return conn.execute(
        f"SELECT start, end, data FROM {schema}.staged WHERE bucket = ? AND start > ? "
        f"AND start <= ? ORDER BY start, {_ties(direction)}",
        (ord_, low_bound(after), high_bound(edge))
    ).fetchall()


@dataclass(frozen=True, slots=True)
class Span:
    """What publishing needs to know of a window before copying it."""

    count: int
    first: int  # start of its first row
    last: int  # start of its last row
    longest: int  # the longest duration in it
    low_rowid: int
    high_rowid: int


def window_span(conn: sqlite3.Connection, schema: str, ord_: int, after: int | None,
                edge: int | None) -> Span:
    """Counted from the index alone; the longest duration (which needs the rows) is
    then read by rowid range when the window is one, which is a sequential read."""
    where = (ord_, low_bound(after), high_bound(edge))
    count, first, last, low, high = (int(v or 0) for v in conn.execute(
        f"SELECT count(*), min(start), max(start), min(rowid), max(rowid) "
        f"FROM {schema}.staged WHERE bucket = ? AND start > ? AND start <= ?", where
    ).fetchone())
    if count and high - low + 1 == count:
        longest = conn.execute(f"SELECT max(end - start) FROM {schema}.staged WHERE rowid "
                               "BETWEEN ? AND ?", (low, high)).fetchone()[0]
    else:
        longest = conn.execute(f"SELECT max(end - start) FROM {schema}.staged WHERE "
                               "bucket = ? AND start > ? AND start <= ?", where).fetchone()[0]
    return Span(count, first, last, int(longest or 0), low, high)


def window_texts(conn: sqlite3.Connection, schema: str, ord_: int, after: int | None,
                 edge: int | None, span: Span, by_rowid: bool) -> list[str]:
    """The distinct data texts of a window (the rows `insert_window_sql` copies), to be
    interned into `temp.data_map` before it runs."""
    if by_rowid:
        found = conn.execute(f"SELECT DISTINCT data FROM {schema}.staged WHERE rowid "
                             "BETWEEN ? AND ?", (span.low_rowid, span.high_rowid))
    else:
        found = conn.execute(f"SELECT DISTINCT data FROM {schema}.staged WHERE bucket = ? "
                             "AND start > ? AND start <= ?",
                             (ord_, low_bound(after), high_bound(edge)))
    return [text for (text,) in found]


# A staged row's data id, from the map `window_texts` filled (every text is there).
_DATA_ID = "(SELECT m.id FROM temp.data_map m WHERE m.text = data)"


def insert_window_sql(schema: str, by_rowid: bool, direction: str | None) -> str:
    """The one statement that publishes a window into a bucket the window does not
    overlap: ids and seqs numbered on from the given first ones, in publishing order.
    Each text's data id comes from `temp.data_map` (see `window_texts`); the origin id is
    NULL, meaning "the event's own id" (docs/storage.md).
    `by_rowid`: the window is the rowid range [:low, :high], in publishing order read
    forwards or (newest first) backwards (see `Staging.direction`), numbered without a
    window function or an index."""
    if by_rowid:
        n = ":high - rowid" if direction == DESCENDING else "rowid - :low"
        order = "DESC" if direction == DESCENDING else ""
        return (
            "INSERT INTO event (id, bucket, start, end, data_id, origin, origin_id, seq) "
            f"SELECT :id + {n}, :bucket, start, end, {_DATA_ID}, :origin, NULL, "
            f":seq + {n} "
            f"FROM {schema}.staged WHERE rowid BETWEEN :low AND :high ORDER BY rowid {order}"
        )
    return (
        "INSERT INTO event (id, bucket, start, end, data_id, origin, origin_id, seq) "
        f"SELECT :id + n, :bucket, start, end, {_DATA_ID}, :origin, NULL, :seq + n FROM ("
        f"SELECT row_number() OVER (ORDER BY start, {_ties(direction)}) - 1 AS n, start, "
        f"end, data FROM {schema}.staged WHERE bucket = :ord AND start > :after "
        "AND start <= :edge)"
    )  # No ORDER BY: each row's id and seq come from its number, whatever the order
    # SQLite inserts them in (the window's), and a sort would copy every row.
