"""The canonical summary query over HTTP: aw-server 0.12.0 and ours side by side.

    .venv/bin/python bench/query_http_bench.py [--quick] [--ref-load-cap-s 240]

1. Both servers (the reference from its own venv via ``tests/support/reference.py``, ours
   as ``python -m aw_server``) get the same synthetic week over HTTP: ~100k window events
   plus AFK (``bench/datagen.py``, seed 42), posted in batches of 1,000. aw-server 0.12.0
   inserts ~3,600 events/s, so its load is capped (``--ref-load-cap-s``); if the cap cuts
   it short the table says how many events it got.
2. aw-webui's desktop summary (flood, AFK filter, ``categorize`` with 12 regex rules,
   merges by app/title/category, top-100 limits) for a 1-day and a 7-day period, median
   of 3 runs each. Every run carries a distinct ``?name=`` so our result cache (keyed by
   program, period and name) never answers; one extra row shows ours answering a repeat
   from that cache.
3. Ours alone: 1M window events over 30 days written straight into a fresh database with
   ``Datastore.events.insert`` (HTTP would take minutes and measures something else), then
   the 30-day summary over HTTP, median of 3, with the server's peak RSS sampled by psutil
   during those queries.

4. ``--year``: 5M window events (+AFK) over 365 days written the same way, then the
   365-day summary as one period: cold (the first query after a fresh server start, which
   also starts the worker), then the server is stopped and started again and the same
   request (same ``name``) is sent: answered from the persistent result cache. The same
   is done for the month in step 3.
   With ``--year-reference`` aw-server 0.12.0 gets the same year, written through
   aw-core's own peewee models inside its venv (its HTTP API takes ~3,600 events/s:
   23 minutes for 5M), and the same query, stopped at ``--ref-query-timeout-s`` or when
   its RSS passes ``--ref-rss-cap-gib``.
5. For both big databases, the split of the summary's cost measured in this process: the
   storage read alone (``event_table`` of both buckets over the period) and the
   transforms alone (``run_query`` over those tables already in memory).

Servers run one after the other (the machine has two shared cores); every request has a
timeout and every loop a bound. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datagen
from _util import RssSampler, start_our_server
from query_bench import canonical_query

from aw_server.datastore.store import Datastore
from aw_server.errors import NoSuchBucket
from aw_server.models import US_PER_S, Bucket, BucketInfo, Event, format_us
from aw_server.query import QueryLimits
from aw_server.query import run_query as run_query_in_process
from tests.support.reference import run_in_reference_venv, start_reference_server

BATCH = 1_000
LOAD_TIMEOUT_S = 120.0
QUERY_TIMEOUT_S = 900.0
RUNS = 3


def _json_event(event: Event) -> dict[str, Any]:
    # Millisecond timestamps: what 0.12.0 keeps, so both servers hold the same data.
    ts = datetime.fromtimestamp(event.timestamp_us // 1000 / 1000, UTC)
    return {"timestamp": ts.isoformat(timespec="milliseconds"),
            "duration": round(event.duration_us / US_PER_S, 3), "data": event.data}


def by_bucket(pairs: Iterable[tuple[str, Event]]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for bucket_id, event in pairs:
        out.setdefault(bucket_id, []).append(event)
    return out


def load_http(base: str, data: dict[str, list[Event]], cap_s: float) -> tuple[int, float]:
    """Create the buckets and post the events; AFK first (small), window events oldest
    first, so a capped load still holds complete early days. Returns (events, seconds)."""
    began = time.perf_counter()
    loaded = 0
    with requests.Session() as session:
        for bucket_id in (datagen.AFK_BUCKET, datagen.WINDOW_BUCKET):
            type_ = "afkstatus" if bucket_id == datagen.AFK_BUCKET else "currentwindow"
            response = session.post(f"{base}/api/0/buckets/{bucket_id}",
                                    json={"client": "bench", "type": type_,
                                          "hostname": datagen.HOSTNAME},
                                    timeout=LOAD_TIMEOUT_S)
            response.raise_for_status()
        for bucket_id in (datagen.AFK_BUCKET, datagen.WINDOW_BUCKET):
            events = data[bucket_id]
            for i in range(0, len(events), BATCH):
                if time.perf_counter() - began > cap_s:
                    return loaded, time.perf_counter() - began
                body = [_json_event(e) for e in events[i:i + BATCH]]
                response = session.post(f"{base}/api/0/buckets/{bucket_id}/events",
                                         json=body, timeout=LOAD_TIMEOUT_S)
                response.raise_for_status()
                loaded += len(body)
    return loaded, time.perf_counter() - began


def period(days: int, offset_days: int = 0) -> str:
    start = datagen.START_US + offset_days * datagen.DAY_US
    return f"{format_us(start)}/{format_us(start + days * datagen.DAY_US)}"


def run_query(base: str, query: list[str], timeperiod: str, name: str) -> tuple[float, Any]:
    began = time.perf_counter()
    response = requests.post(f"{base}/api/0/query/", params={"name": name},
                             json={"timeperiods": [timeperiod], "query": query},
                             timeout=QUERY_TIMEOUT_S)
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    return elapsed, response.json()[0]


def median_latency(base: str, query: list[str], timeperiod: str, tag: str,
                   runs: int = RUNS) -> tuple[float, float, list[float]]:
    """Median seconds over `runs` uncached runs, the active hours found, every run's time."""
    times = []
    result: Any = None
    for i in range(runs):
        elapsed, result = run_query(base, query, timeperiod, f"{tag}-{i}-{time.time_ns()}")
        times.append(elapsed)
    return statistics.median(times), float(result["window"]["duration"]) / 3600, times


def write_large_db(db_path: Path, days: int, events: int) -> tuple[int, float]:
    """1M-event database written directly through our storage layer; one already there
    (``--data-dir``) is reused as it is, as its own events count says."""
    began = time.perf_counter()
    if db_path.exists():
        store = Datastore(db_path)
        try:
            total = sum(store.events.count(b, None, None)
                        for b in (datagen.WINDOW_BUCKET, datagen.AFK_BUCKET))
        finally:
            store.close()
        return total, time.perf_counter() - began
    store = Datastore(db_path)
    total = 0
    try:
        created = datetime.now(UTC).isoformat()
        for bucket_id, type_ in ((datagen.WINDOW_BUCKET, "currentwindow"),
                                 (datagen.AFK_BUCKET, "afkstatus")):
            store.buckets.create(Bucket(bucket_id, type_, "bench", datagen.HOSTNAME, created))
        chunk: dict[str, list[Event]] = {datagen.WINDOW_BUCKET: [], datagen.AFK_BUCKET: []}
        for bucket_id, event in datagen.generate(seed=42, days=days, window_events=events):
            chunk[bucket_id].append(event)
            if len(chunk[bucket_id]) >= 50_000:
                store.events.insert(bucket_id, chunk[bucket_id])
                total += len(chunk[bucket_id])
                chunk[bucket_id] = []
        for bucket_id, rest in chunk.items():
            if rest:
                store.events.insert(bucket_id, rest)
                total += len(rest)
    finally:
        store.close()
    return total, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller data (smoke test)")
    parser.add_argument("--ref-load-cap-s", type=float, default=240.0,
                        help="stop loading aw-server 0.12.0 after this many seconds")
    parser.add_argument("--month-only", action="store_true",
                        help="only the 30-day query on 1M events (ours alone)")
    parser.add_argument("--year", action="store_true",
                        help="also the 365-day query on 5M events, cold and after a restart")
    parser.add_argument("--year-only", action="store_true",
                        help="only the 365-day query on 5M events (ours alone)")
    parser.add_argument("--year-reference", action="store_true",
                        help="also aw-server 0.12.0 on the 365-day query")
    parser.add_argument("--year-reference-only", action="store_true",
                        help="only aw-server 0.12.0 on the 365-day query")
    parser.add_argument("--ref-query-timeout-s", type=float, default=600.0)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep the big databases here and reuse them on the next run "
                             "(writing 5M events takes minutes)")
    parser.add_argument("--ref-rss-cap-gib", type=float, default=8.0)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    week_events, big_events = 100_000 // scale, 1_000_000 // scale
    year_events = 5_000_000 // scale
    query = canonical_query()
    rows: list[tuple[str, str, str]] = []
    data = by_bucket(datagen.generate(seed=42, days=7, window_events=week_events))
    n_week = sum(len(v) for v in data.values())

    with tempfile.TemporaryDirectory(prefix="aw-query-http-bench-") as tmp:
        root = args.data_dir or Path(tmp)
        only = args.month_only or args.year_only or args.year_reference_only
        if not only:
            rows += week_rows(root, data, n_week, query, args.ref_load_cap_s)
        if not only or args.month_only:
            rows += month_rows(root, query, big_events)
        if args.year or args.year_only:
            rows += year_rows(root, query, year_events)
        if args.year_reference or args.year_reference_only:
            rows += reference_year_rows(root, query, year_events, args.ref_query_timeout_s,
                                        args.ref_rss_cap_gib)
    print("| Metric | aw-server 0.12.0 | ours |")
    print("|---|---|---|")
    for metric, reference, mine in rows:
        print(f"| {metric} | {reference} | {mine} |")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a"


def week_rows(root: Path, data: dict[str, list[Event]], n_week: int, query: list[str],
              ref_load_cap_s: float) -> list[tuple[str, str, str]]:
    ref = start_reference_server(root / "reference")
    try:
        ref_loaded, ref_load_s = load_http(ref.url, data, ref_load_cap_s)
        ref_1d = median_latency(ref.url, query, period(1, 2), "ref1")
        ref_7d = median_latency(ref.url, query, period(7), "ref7")
    finally:
        ref.stop()
    ours = start_our_server(root / "ours")
    try:
        our_loaded, our_load_s = load_http(ours.url, data, float("inf"))
        our_1d = median_latency(ours.url, query, period(1, 2), "ours1")
        our_7d = median_latency(ours.url, query, period(7), "ours7")
        run_query(ours.url, query, period(7), "cached")
        cached_s, _ = run_query(ours.url, query, period(7), "cached")
    finally:
        ours.stop()
    if ref_loaded < n_week:
        print(f"Note: the reference load hit the {ref_load_cap_s:.0f} s cap; its "
              "results cover only the events it received.\n")
    return [
        ("Events loaded over HTTP (7 days)", f"{ref_loaded:,} of {n_week:,} in {ref_load_s:.0f} s",
         f"{our_loaded:,} of {n_week:,} in {our_load_s:.0f} s"),
        ("Summary, 1 day (median of 3)", f"{ref_1d[0] * 1000:,.0f} ms ({ref_1d[1]:.2f} h active)",
         f"{our_1d[0] * 1000:,.0f} ms ({our_1d[1]:.2f} h active), {ratio(ref_1d[0], our_1d[0])}"
         " faster"),
        ("Summary, 7 days (median of 3)", f"{ref_7d[0] * 1000:,.0f} ms ({ref_7d[1]:.2f} h active)",
         f"{our_7d[0] * 1000:,.0f} ms ({our_7d[1]:.2f} h active), {ratio(ref_7d[0], our_7d[0])}"
         " faster"),
        ("Summary, 7 days, repeated (ours: result cache)", "no cache",
         f"{cached_s * 1000:,.1f} ms"),
    ]


def month_rows(root: Path, query: list[str], big_events: int) -> list[tuple[str, str, str]]:
    """The first query after start (it also starts the query worker), then the median of
    3 more, each under a new name so the result cache never answers."""
    db_path = root / "big" / "db" / "test.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    big_written, big_write_s = write_large_db(db_path, 30, big_events)
    big = start_our_server(root / "big", db_path=db_path)
    try:
        sampler = RssSampler(big.pid, interval_s=0.02)
        idle_rss = sampler.current()
        sampler.start()
        first_name = f"first-{time.time_ns()}"
        try:
            first_s, _ = run_query(big.url, query, period(30), first_name)
            our_30d = median_latency(big.url, query, period(30), "ours30")
        finally:
            peak = sampler.stop()
    finally:
        big.stop()
    restarted_s = restarted_query(root / "big", db_path, query, period(30), first_name)
    runs = ", ".join(f"{t * 1000:,.0f}" for t in our_30d[2])
    return [
        (f"Summary, 30 days on {big_written:,} events (median of 3)", "not run",
         f"{our_30d[0] * 1000:,.0f} ms (runs {runs} ms; {our_30d[1]:.1f} h active); DB "
         f"written directly in {big_write_s:.0f} s"),
        ("Summary, 30 days, first query after start (starts the worker)", "not run",
         f"{first_s * 1000:,.0f} ms"),
        ("Server + worker peak RSS during the 30-day queries", "not run",
         f"{peak / 2**20:,.0f} MiB (idle before: {idle_rss / 2**20:,.0f} MiB, "
         f"{sampler.samples} samples)"),
        ("Summary, 30 days, same request after a server restart (persistent cache)",
         "not run", f"{restarted_s * 1000:,.1f} ms"),
        split_row("30 days", db_path, query, 30),
    ]


def restarted_query(data_root: Path, db_path: Path, query: list[str], timeperiod: str,
                    name: str) -> float:
    """Seconds for `name`'s request again after stopping and starting the server."""
    server = start_our_server(data_root, db_path=db_path)
    try:
        elapsed, _ = run_query(server.url, query, timeperiod, name)
    finally:
        server.stop()
    return elapsed


def year_rows(root: Path, query: list[str], events: int) -> list[tuple[str, str, str]]:
    """The 365-day summary as one period: cold after a fresh start, then again after a
    restart (same name, so the persistent result cache may answer)."""
    db_path = root / "year" / "db" / "test.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    written, write_s = write_large_db(db_path, 365, events)
    name = f"year-{time.time_ns()}"
    server = start_our_server(root / "year", db_path=db_path)
    try:
        sampler = RssSampler(server.pid, interval_s=0.05)
        sampler.start()
        try:
            cold_s, result = run_query(server.url, query, period(365), name)
            again_s, _ = run_query(server.url, query, period(365), name)
        finally:
            peak = sampler.stop()
    finally:
        server.stop()
    restarted_s = restarted_query(root / "year", db_path, query, period(365), name)
    active_h = float(result["window"]["duration"]) / 3600
    return [
        (f"Summary, 365 days on {written:,} events, first query after start", "not run",
         f"{cold_s * 1000:,.0f} ms ({active_h:,.0f} h active); DB written directly in "
         f"{write_s:.0f} s"),
        ("Summary, 365 days, repeated (memory cache)", "not run",
         f"{again_s * 1000:,.1f} ms"),
        ("Summary, 365 days, same request after a server restart (persistent cache)",
         "not run", f"{restarted_s * 1000:,.1f} ms"),
        ("Server + worker peak RSS during the 365-day query", "not run",
         f"{peak / 2**20:,.0f} MiB"),
        split_row("365 days", db_path, query, 365),
    ]


# Runs in aw-server 0.12.0's venv: the year's events into its peewee database, through
# aw-core's own models (what its insert_many does, in bigger transactions).
_REFERENCE_LOADER = """
import json, sys
from datetime import datetime, timezone
from aw_datastore.storages.peewee import EventModel, PeeweeStorage
storage = PeeweeStorage(testing=False)
datas = [json.dumps(d) for d in json.load(open(sys.argv[2]))]
keys = {}
rows = []
def flush():
    with storage.db.atomic():
        for i in range(0, len(rows), 500):
            EventModel.insert_many(rows[i:i + 500]).execute()
    rows.clear()
for line in open(sys.argv[1]):
    parts = line.rstrip("\\n").split("\\t")
    if parts[0] == "bucket":
        storage.create_bucket(parts[1], parts[2], "bench", parts[3], parts[4])
        keys = storage.bucket_keys
        continue
    bucket, start_ms, duration_ms, slot = parts
    rows.append({"bucket": keys[bucket],
                 "timestamp": datetime.fromtimestamp(int(start_ms) / 1000, timezone.utc),
                 "duration": int(duration_ms) / 1000, "datastr": datas[int(slot)]})
    if len(rows) >= 50000:
        flush()
flush()
print(sum(1 for _ in EventModel.select()))
"""


def reference_year_rows(root: Path, query: list[str], events: int, timeout_s: float,
                        rss_cap_gib: float) -> list[tuple[str, str, str]]:
    """aw-server 0.12.0 on the same 365 days: its database written through aw-core's
    models, then the summary over HTTP, stopped at `timeout_s` or `rss_cap_gib`."""
    import threading

    data_root = root / "reference-year"
    data_root.mkdir(parents=True)
    events_file, datas_file = data_root / "events.tsv", data_root / "datas.json"
    slots: dict[int, int] = {}
    datas: list[dict[str, Any]] = []
    began = time.perf_counter()
    with events_file.open("w") as out:
        for bucket_id, type_ in ((datagen.WINDOW_BUCKET, "currentwindow"),
                                 (datagen.AFK_BUCKET, "afkstatus")):
            out.write(f"bucket\t{bucket_id}\t{type_}\t{datagen.HOSTNAME}\t"
                      f"{datetime.now(UTC).isoformat()}\n")
        for bucket_id, event in datagen.generate(seed=42, days=365, window_events=events):
            slot = slots.get(id(event.data))
            if slot is None:
                slot = slots[id(event.data)] = len(datas)
                datas.append(event.data)
            out.write(f"{bucket_id}\t{event.timestamp_us // 1000}\t"
                      f"{event.duration_us // 1000}\t{slot}\n")
    datas_file.write_text(json.dumps(datas))
    loaded = run_in_reference_venv(_REFERENCE_LOADER, str(events_file), str(datas_file),
                                   timeout=3600, check=True, data_root=data_root)
    load_s = time.perf_counter() - began
    events_file.unlink()
    ref = start_reference_server(data_root)
    outcome = ""
    peak = 0
    try:
        sampler = RssSampler(ref.pid, interval_s=0.5)
        cap = int(rss_cap_gib * 2**30)
        stopped = threading.Event()
        capped = threading.Event()

        def watch() -> None:
            while not stopped.wait(0.5):
                if sampler.current() > cap:
                    capped.set()
                    ref.stop()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        sampler.start()
        watcher.start()
        began = time.perf_counter()
        try:
            response = requests.post(f"{ref.url}/api/0/query/", params={"name": "year"},
                                     json={"timeperiods": [period(365)], "query": query},
                                     timeout=timeout_s)
            elapsed = time.perf_counter() - began
            outcome = (f"{elapsed * 1000:,.0f} ms" if response.ok else
                       f"HTTP {response.status_code} after {elapsed:,.0f} s")
        except requests.RequestException as exc:
            elapsed = time.perf_counter() - began
            outcome = f"failed after {elapsed:,.0f} s ({type(exc).__name__})"
        finally:
            stopped.set()
            peak = sampler.stop()
            watcher.join(5)
    finally:
        ref.stop()
    if capped.is_set():
        outcome += f", stopped by us at the {rss_cap_gib:g} GiB RSS cap"
    return [(f"Summary, 365 days on {loaded.stdout.strip()} events, first query "
             "after start (0.12.0: DB written through aw-core's models in "
             f"{load_s:,.0f} s)", f"{outcome}; peak RSS {peak / 2**30:,.1f} GiB",
             "see above")]


class TablesSource:
    """A period's tables read once and kept: `run_query` over it costs the transforms
    alone. Only answers reads of that one period."""

    def __init__(self, store: Datastore, start_us: int, end_us: int) -> None:
        self._buckets = store.source.buckets()
        self._tables = {b.id: store.source.event_table(b.id, start_us, end_us)
                        for b in self._buckets}

    def buckets(self) -> list[BucketInfo]:
        return self._buckets

    def event_table(self, bucket_id: str, start_us: int, end_us: int,
                    rows_hint: int | None = None) -> Any:
        if bucket_id not in self._tables:
            raise NoSuchBucket(bucket_id)
        return self._tables[bucket_id]

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        return list(self.event_table(bucket_id, start_us, end_us).to_events())

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int:
        return len(self.event_table(bucket_id, start_us, end_us))

    def change_marker(self, bucket_id: str) -> int:
        return 0


def split_row(label: str, db_path: Path, query: list[str], days: int
              ) -> tuple[str, str, str]:
    """Storage read vs transforms for the summary over `days`, in this process (the
    server's page cache is warm by now, as it is for a server's second query)."""
    start = datagen.START_US
    end = start + days * datagen.DAY_US
    store = Datastore(db_path)
    try:
        began = time.perf_counter()
        source = TablesSource(store, start, end)
        read_s = time.perf_counter() - began
    finally:
        store.close()
    limits = QueryLimits(max_seconds=600, max_events=50_000_000)
    began = time.perf_counter()
    run_query_in_process(query, [period(days)], source, limits=limits)
    transform_s = time.perf_counter() - began
    return (f"Summary, {label}: storage read vs transforms (in process)", "not run",
            f"read {read_s * 1000:,.0f} ms + transforms {transform_s * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
