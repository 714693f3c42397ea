"""Export events as CSV: one row per event, for spreadsheets.

Columns: `bucket`, `timestamp`, `duration`, then one column per key found in any
event's `data` (sorted; a missing key is an empty cell, a non-string value is written
as JSON). The text starts with a UTF-8 byte order mark so Excel reads it as UTF-8:
open the output with `encoding="utf-8", newline=""`. Rows end in CRLF.

Cells read back exactly (`read_csv`): a string is written as is unless it would read
back as something else (`""`, `42`, `true`, `{...}`), then it is written as a JSON string
(`"42"`); every other value is JSON. With a time range, events are clipped to it, so
the durations of a range add up to the time inside it.

It reads through the domain API (two passes: one to learn the columns, one to write),
so it never holds all events in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO

BOM = "\ufeff"
FIXED_COLUMNS = ("bucket", "timestamp", "duration")


class EventSource(Protocol):
    """What CSV export needs; `aw_server.api.ServerAPI` provides it."""

    def get_buckets(self) -> dict[str, dict[str, Any]]: ...

    def events_json(self, bucket_id: str, limit: int | None, start_us: int | None,
                    end_us: int | None) -> Iterator[str]: ...


def _events(source: EventSource, bucket_id: str, start_us: int | None = None,
            end_us: int | None = None) -> Iterator[dict[str, Any]]:
    for text in source.events_json(bucket_id, None, start_us, end_us):
        event: dict[str, Any] = json.loads(text)
        yield event


def _reads_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _cell(value: Any) -> str:
    if isinstance(value, str) and value and not _reads_as_json(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _value(cell: str) -> Any:
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def data_columns(source: EventSource, bucket_ids: list[str], start_us: int | None = None,
                 end_us: int | None = None) -> list[str]:
    keys: set[str] = set()
    for bucket_id in bucket_ids:
        for event in _events(source, bucket_id, start_us, end_us):
            keys.update(event.get("data", {}))
    return sorted(keys - set(FIXED_COLUMNS)) + sorted(keys & set(FIXED_COLUMNS))


def write_csv(source: EventSource, out: TextIO, *,
              progress: Callable[[int], bool] | None = None,
              bucket_ids: list[str] | None = None, start_us: int | None = None,
              end_us: int | None = None) -> int:
    """Write every event of `bucket_ids` (default: all buckets); returns the row count.

    `progress(rows_written)` is called every 1000 rows; returning False cancels the
    export (the partial output is the caller's to discard).
    """
    ids = sorted(source.get_buckets()) if bucket_ids is None else bucket_ids
    columns = data_columns(source, ids, start_us, end_us)
    out.write(BOM)
    writer = csv.writer(out)
    # A data key equal to a fixed column name gets a "data." prefix to stay unambiguous.
    writer.writerow([*FIXED_COLUMNS,
                     *(f"data.{c}" if c in FIXED_COLUMNS else c for c in columns)])
    rows = 0
    for bucket_id in ids:
        for event in _events(source, bucket_id, start_us, end_us):
            data = event.get("data", {})
            writer.writerow([bucket_id, event.get("timestamp", ""),
                             _cell(event.get("duration")),
                             *(_cell(data[c]) if c in data else "" for c in columns)])
            rows += 1
            if progress is not None and rows % 1000 == 0 and not progress(rows):
                return rows
    if progress is not None:
        progress(rows)
    return rows


def read_csv(stream: TextIO) -> Iterator[tuple[str, dict[str, Any]]]:
    """Parse what `write_csv` wrote: `(bucket_id, {timestamp, duration, data})` per row."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    if header[0].startswith(BOM):
        header[0] = header[0][len(BOM):]
    if tuple(header[:3]) != FIXED_COLUMNS:
        raise ValueError(f"not an event CSV: the header starts with {header[:3]}")
    keys = [c[len("data."):] if c.startswith("data.") and c[5:] in FIXED_COLUMNS else c
            for c in header[3:]]
    for row in reader:
        data = {key: _value(cell) for key, cell in zip(keys, row[3:], strict=False) if cell}
        yield row[0], {"timestamp": row[1], "duration": _value(row[2]), "data": data}
