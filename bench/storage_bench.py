"""Disk size and migration time of the event storage, on synthetic window events.

    .venv/bin/python bench/storage_bench.py --events 1000000
    .venv/bin/python bench/storage_bench.py --events 1000000 --migrate

The first form writes `--events` window events (bench/datagen.py, seed 42, 30 days)
through `Datastore` into a fresh data folder and prints the folder's size after the
server's own close (a WAL checkpoint), per table and index where SQLite's `dbstat` is
available. `--migrate` writes the same events as a schema-5 database (each event with
its whole data text, the layout before interning; written with the frozen v5 DDL of
the tests' support code) and times opening it with this version, which migrates it.
`--query-split` writes window and AFK events (as `query_http_bench.py` does) and runs
the 30-day desktop summary in process three times, timing the reads (`event_table`)
apart from the rest (the transforms), wall and CPU.
`--reference` loads them into aw-server 0.12.0's own peewee storage instead (its venv,
`tests/support/reference.py`; slow: ~4 min for 1M) and prints that file's size.
Run with `PYTHONPATH=<other checkout>` to measure another version's layout.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))  # tests.support, last

import datagen

from aw_server.datastore.store import Datastore
from aw_server.models import Bucket, Event

CHUNK = 50_000


def write_events(db_path: Path, events: int) -> int:
    store = Datastore(db_path)
    total = 0
    try:
        created = datetime.now(UTC).isoformat()
        store.buckets.create(Bucket(datagen.WINDOW_BUCKET, "currentwindow", "bench",
                                    datagen.HOSTNAME, created))
        chunk: list[Event] = []
        for bucket_id, event in datagen.generate(seed=42, days=30, window_events=events):
            if bucket_id != datagen.WINDOW_BUCKET:
                continue
            chunk.append(event)
            if len(chunk) >= CHUNK:
                total += len(store.events.insert(bucket_id, chunk))
                chunk = []
        if chunk:
            total += len(store.events.insert(datagen.WINDOW_BUCKET, chunk))
    finally:
        store.close()
    return total


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def breakdown(db_path: Path) -> list[tuple[str, int]]:
    """Bytes per table and index (SQLite's dbstat), largest first; empty without it."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                            "ORDER BY 2 DESC").fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()
    return [(str(name), int(size)) for name, size in rows]


def write_v5(db_path: Path, events: int) -> int:
    """The same window events in the schema-5 layout (see tests/support/schema_v5.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
    import schema_v5  # type: ignore[import-not-found]

    rows = ((start, start + duration, data)
            for bucket_id, event in datagen.generate(seed=42, days=30, window_events=events)
            if bucket_id == datagen.WINDOW_BUCKET
            for start, duration, data in [(event.timestamp_us, event.duration_us, event.data)])
    return int(schema_v5.write_database(db_path, {datagen.WINDOW_BUCKET: rows}))


# Runs in the reference venv: argv = folder, rows file (JSON lines [start µs, µs, data]).
_REFERENCE_LOAD = """
import json, os, sys
from datetime import datetime, timedelta, timezone
from aw_core.models import Event
from aw_datastore.storages import PeeweeStorage
folder, rows = sys.argv[1], sys.argv[2]
storage = PeeweeStorage(testing=True, filepath=os.path.join(folder, "peewee-sqlite.v2.db"))
bucket = "aw-watcher-window_benchhost"
storage.create_bucket(bucket, "currentwindow", "bench", "benchhost",
                      datetime.now(timezone.utc).isoformat())
batch = []
with open(rows) as f:
    for line in f:
        start, duration, data = json.loads(line)
        batch.append(Event(timestamp=datetime.fromtimestamp(start / 1e6, timezone.utc),
                           duration=timedelta(microseconds=duration), data=data))
        if len(batch) >= 10000:
            storage.insert_many(bucket, batch)
            batch = []
storage.insert_many(bucket, batch)
storage.db.close()
"""


def write_reference(folder: Path, events: int) -> int:
    """The window events in aw-server 0.12.0's peewee file (its venv, built on first use)."""
    from tests.support.reference import run_in_reference_venv

    rows = folder / "rows.jsonl"
    written = 0
    with rows.open("w") as out:
        for bucket_id, event in datagen.generate(seed=42, days=30, window_events=events):
            if bucket_id == datagen.WINDOW_BUCKET:
                out.write(json.dumps([event.timestamp_us, event.duration_us, event.data]) + "\n")
                written += 1
    data = folder / "reference"
    data.mkdir()
    run_in_reference_venv(_REFERENCE_LOAD, str(data), str(rows), timeout=3600, check=True)
    rows.unlink()
    return written


def query_split(db_path: Path, events: int) -> None:
    """Where a 30-day summary's time goes: reading the buckets vs everything else."""
    import query_http_bench
    from query_bench import canonical_query

    from aw_server.models import format_us
    from aw_server.query import QueryLimits, run_query

    written, seconds = query_http_bench.write_large_db(db_path, 30, events)
    print(f"wrote {written:,} events in {seconds:.0f} s")
    store = Datastore(db_path)
    source = store.source
    reads = [0.0, 0.0]
    read_table = source.event_table

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return read_table(*args, **kwargs)
        finally:
            reads[0] += time.perf_counter() - wall
            reads[1] += time.process_time() - cpu

    source.event_table = timed  # type: ignore[method-assign]
    start = datagen.START_US
    period = f"{format_us(start)}/{format_us(start + 30 * datagen.DAY_US)}"
    try:
        for run in range(3):
            reads[:] = [0.0, 0.0]
            wall, cpu = time.perf_counter(), time.process_time()
            run_query(canonical_query(), [period], source, limits=QueryLimits(max_seconds=300))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"run {run + 1}: total {wall:.2f} s wall, {cpu:.2f} s CPU; reads "
                  f"{reads[0]:.2f} s wall, {reads[1]:.2f} s CPU; rest {wall - reads[0]:.2f} s "
                  f"wall, {cpu - reads[1]:.2f} s CPU; load average {os.getloadavg()[0]:.1f}")
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--migrate", action="store_true",
                        help="time the migration of a schema-5 file instead")
    parser.add_argument("--query-split", action="store_true",
                        help="time a 30-day summary's reads apart from its transforms")
    parser.add_argument("--reference", action="store_true",
                        help="measure aw-server 0.12.0's peewee file instead")
    parser.add_argument("--keep", type=Path, help="write here instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="intern-storage-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / "test.db"
        began = time.perf_counter()
        if args.query_split:
            query_split(db_path, args.events)
            return
        if args.reference:
            written = write_reference(folder, args.events)
            size = folder_size(folder / "reference")
            print(f"aw-server 0.12.0: {written:,} window events loaded in "
                  f"{time.perf_counter() - began:.0f} s; its data folder: {size / 1e6:.1f} MB "
                  f"({size / max(written, 1):.1f} bytes/event)")
            return
        if args.migrate:
            written = write_v5(db_path, args.events)
            print(f"v5 file: {written:,} events, {folder_size(folder) / 1e6:.1f} MB, "
                  f"written in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            Datastore(db_path).close()
            print(f"opened (migrated) in {time.perf_counter() - began:.2f} s")
        else:
            written = write_events(db_path, args.events)
            print(f"wrote {written:,} window events in {time.perf_counter() - began:.1f} s")
        size = folder_size(folder)
        print(f"data folder: {size / 1e6:.1f} MB ({size / max(written, 1):.1f} bytes/event)")
        for name, bytes_ in breakdown(db_path):
            print(f"  {name:24} {bytes_ / 1e6:8.1f} MB  {bytes_ / max(written, 1):6.1f} B/event")


if __name__ == "__main__":
    main()
