"""Benchmark: aw-server 0.12.0 (the reference) vs our server vs a bare HTTP-stack floor.

Run ``.venv/bin/python bench/server_bench.py [--quick]``.  One run starts, one after the
other (never concurrently: the machine has two shared cores):

1. the reference aw-server 0.12.0 from its own venv (``tests/support/reference.py``),
2. our ``python -m aw_server --testing`` (skipped with a message if it does not start),
3. a bare Flask app on waitress whose single endpoint parses a heartbeat body and echoes
   it: the *floor* — what any Flask+waitress server costs before doing real work,

each on a free loopback port with a throw-away data dir, and feeds the first two identical
generated data.  It prints one Markdown table (metric, reference, ours, ratio).  Why these
metrics: watchers send one heartbeat per second per watcher forever (sequential and
concurrent heartbeat latency), imports and syncs post big lists (bulk insert), the web UI
loads whole buckets (GET with ``limit=-1``), users export everything (export), and the
server lives in the tray for weeks (RSS, data size).

Every loop is bounded by a count and every request by a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import (
    OurServer,
    RssSampler,
    ServerStartError,
    dir_size,
    percentile,
    start_our_server,
)

from tests.support.reference import (
    ReferenceToolError,
    find_free_port,
    reference_versions,
    start_reference_server,
    stop_process,
    wait_for_http,
)

JSON_HEADERS = {"Content-Type": "application/json"}
REQUEST_TIMEOUT_S = 30.0
BIG_REQUEST_TIMEOUT_S = 900.0
PULSETIME = 2.0
BATCH = 1000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Params:
    """Sizes of one benchmark run (``--quick`` shrinks them ~10x)."""

    heartbeats: int
    threaded_heartbeats: int
    threads: int
    get_events: int
    export_events: int
    runs: int
    big_runs: int


FULL = Params(3000, 3000, 4, 100_000, 200_000, 3, 3)
QUICK = Params(500, 500, 4, 10_000, 20_000, 3, 1)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds")


def heartbeat_bodies(count: int, start: datetime) -> list[bytes]:
    """Heartbeats 1 s apart whose title flips every third beat.

    With ``pulsetime=2`` two of every three merge into the previous event and one starts a
    new event, so both server paths (UPDATE and INSERT) are measured, as with a real
    window watcher.
    """
    bodies = []
    for i in range(count):
        body = {
            "timestamp": _iso(start + timedelta(seconds=i)),
            "duration": 0.0,
            "data": {"app": "bench", "title": f"window {(i // 3) % 2}"},
        }
        bodies.append(json.dumps(body).encode())
    return bodies


def event_batches(count: int, start: datetime) -> list[bytes]:
    """``count`` events, 10 s apart, as pre-serialised JSON lists of :data:`BATCH`.

    Serialising up front keeps client-side ``json.dumps`` out of the measured time.
    """
    batches = []
    for first in range(0, count, BATCH):
        events = []
        for i in range(first, min(first + BATCH, count)):
            events.append(
                {
                    "timestamp": _iso(start + timedelta(seconds=10 * i, milliseconds=i % 1000)),
                    "duration": 5.0 + (i % 7),
                    "data": {
                        "app": f"app{i % 23}",
                        "title": f"Document {i % 1000} - Editor",
                        "url": f"https://example.invalid/page/{i % 311}",
                    },
                }
            )
        batches.append(json.dumps(events).encode())
    return batches


# --------------------------------------------------------------------------- results


@dataclass
class Metric:
    """One row of the table."""

    name: str
    unit: str
    higher_is_better: bool
    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    runs: dict[str, list[float]] = field(default_factory=dict)


class Results:
    """Ordered collection of metrics, filled side by side ("reference", "ours", "floor")."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}
        self.errors: list[str] = []

    def put(
        self,
        key: str,
        side: str,
        value: float,
        unit: str,
        higher: bool,
        runs: list[float] | None = None,
    ) -> None:
        """Record ``value`` for ``side`` of metric ``key`` (creating the row on first use).

        ``runs`` keeps the per-run values behind a median for the JSON output, so a noisy
        run on the shared machine can be spotted.
        """
        metric = self._metrics.setdefault(key, Metric(key, unit, higher))
        metric.values[side] = value
        if runs is not None:
            metric.runs[side] = list(runs)

    def fail(self, key: str, side: str, unit: str, higher: bool, message: str) -> None:
        """Mark a metric as failed for a side and remember why (printed under the table)."""
        metric = self._metrics.setdefault(key, Metric(key, unit, higher))
        metric.notes[side] = "ERR"
        self.errors.append(f"{side}: {key}: {message}")

    def rows(self) -> list[Metric]:
        """Metrics in insertion order."""
        return list(self._metrics.values())


def _fmt(value: float, unit: str) -> str:
    if unit == "MiB":
        return f"{value:.1f}"
    if unit == "ms":
        return f"{value:.2f}"
    if unit == "s":
        return f"{value:.2f}"
    return f"{value:,.0f}"


#: Floor rows and the "ours" metric each is compared with.
FLOOR_PAIRS: dict[str, str] = {
    "floor: sequential echo": "sequential heartbeats",
    "floor: echo latency p50": "heartbeat latency p50",
    "floor: echo latency p99": "heartbeat latency p99",
}


def render_table(results: Results) -> str:
    """The Markdown table: metric, reference, ours, ratio (ours / reference).

    Floor rows put the floor's value in the "ours" column (it has no reference value) and
    their ratio cell compares our matching heartbeat metric with the floor.
    """
    lines = [
        "| metric | reference | ours | ratio (ours/ref) |",
        "|---|---:|---:|---:|",
    ]
    by_name = {m.name: m for m in results.rows()}
    for metric in results.rows():
        arrow = "↑" if metric.higher_is_better else "↓"
        label = f"{metric.name} [{metric.unit}] {arrow}"
        if "floor" in metric.values:
            floor_value = metric.values["floor"]
            partner = by_name.get(FLOOR_PAIRS.get(metric.name, ""))
            ratio = "—"
            if partner is not None and "ours" in partner.values and floor_value:
                ratio = f"ours/floor {partner.values['ours'] / floor_value:.2f}"
            lines.append(f"| {label} | — | {_fmt(floor_value, metric.unit)} | {ratio} |")
            continue
        cells = []
        for side in ("reference", "ours"):
            if side in metric.values:
                cells.append(_fmt(metric.values[side], metric.unit))
            else:
                cells.append(metric.notes.get(side, "—"))
        ref = metric.values.get("reference")
        ours = metric.values.get("ours")
        ratio = f"{ours / ref:.2f}" if ref and ours is not None else "—"
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {ratio} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- measurements


class BenchError(RuntimeError):
    """A server answered something other than success during a measurement."""


def _check(resp: requests.Response, what: str, ok: tuple[int, ...] = (200,)) -> None:
    if resp.status_code not in ok:
        raise BenchError(f"{what}: HTTP {resp.status_code}: {resp.text[:300]!r}")


def create_bucket(session: requests.Session, url: str, bucket: str) -> None:
    """Create a bucket (200 new / 304 existing both fine)."""
    resp = session.post(
        f"{url}/api/0/buckets/{bucket}",
        json={"client": "aw-bench", "type": "bench", "hostname": "bench-host"},
        timeout=REQUEST_TIMEOUT_S,
    )
    _check(resp, f"create bucket {bucket}", (200, 304))


def sequential_heartbeats(
    url: str, bucket: str, bodies: list[bytes], path_tpl: str = "/api/0/buckets/{}/heartbeat"
) -> tuple[float, list[float]]:
    """POST every body in order on one keep-alive session; (requests/s, latencies in s)."""
    endpoint = url + path_tpl.format(bucket) + f"?pulsetime={PULSETIME}"
    latencies: list[float] = []
    with requests.Session() as session:
        session.headers.update(JSON_HEADERS)
        started = time.perf_counter()
        for body in bodies:
            t = time.perf_counter()
            resp = session.post(endpoint, data=body, timeout=REQUEST_TIMEOUT_S)
            latencies.append(time.perf_counter() - t)
            if resp.status_code != 200:
                _check(resp, "heartbeat")
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, latencies


def threaded_heartbeats(url: str, buckets: list[str], bodies: list[bytes]) -> float:
    """One thread + session per bucket, all sending ``bodies``; total requests/s."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(buckets) + 1, timeout=60)

    def worker(bucket: str) -> None:
        endpoint = f"{url}/api/0/buckets/{bucket}/heartbeat?pulsetime={PULSETIME}"
        try:
            with requests.Session() as session:
                session.headers.update(JSON_HEADERS)
                barrier.wait()
                for body in bodies:
                    resp = session.post(endpoint, data=body, timeout=REQUEST_TIMEOUT_S)
                    if resp.status_code != 200:
                        _check(resp, f"heartbeat ({bucket})")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    threads = [threading.Thread(target=worker, args=(b,), daemon=True) for b in buckets]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=BIG_REQUEST_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchError(f"threaded heartbeats failed: {errors[0]!r}")
    if any(t.is_alive() for t in threads):
        raise BenchError("threaded heartbeats did not finish in time")
    return len(buckets) * len(bodies) / elapsed


def bulk_insert(session: requests.Session, url: str, bucket: str, batches: list[bytes]) -> float:
    """POST each pre-serialised batch; returns the wall time in seconds."""
    endpoint = f"{url}/api/0/buckets/{bucket}/events"
    started = time.perf_counter()
    for batch in batches:
        resp = session.post(
            endpoint, data=batch, headers=JSON_HEADERS, timeout=BIG_REQUEST_TIMEOUT_S
        )
        _check(resp, f"bulk insert into {bucket}")
    return time.perf_counter() - started


def get_all_events(session: requests.Session, url: str, bucket: str, expected: int) -> float:
    """Time one ``GET .../events?limit=-1`` including the full body; checks the count."""
    started = time.perf_counter()
    resp = session.get(
        f"{url}/api/0/buckets/{bucket}/events",
        params={"limit": "-1"},
        timeout=BIG_REQUEST_TIMEOUT_S,
    )
    body = resp.content
    elapsed = time.perf_counter() - started
    _check(resp, "get events")
    count = len(json.loads(body))
    if count != expected:
        raise BenchError(f"GET returned {count} events, expected {expected}")
    return elapsed


def export_all(session: requests.Session, url: str, buckets: list[str], expected: int) -> float:
    """Time one ``GET /api/0/export``; checks the bulk buckets hold ``expected`` events."""
    started = time.perf_counter()
    resp = session.get(f"{url}/api/0/export", timeout=BIG_REQUEST_TIMEOUT_S)
    body = resp.content
    elapsed = time.perf_counter() - started
    _check(resp, "export")
    exported = json.loads(body)["buckets"]
    count = sum(len(exported[b]["events"]) for b in buckets)
    if count != expected:
        raise BenchError(f"export holds {count} bulk events, expected {expected}")
    return elapsed


@dataclass
class Workload:
    """Pre-generated data, identical for every server."""

    params: Params
    hb: list[bytes]
    hb_threaded: list[bytes]
    batches_a: list[bytes]
    batches_b: list[bytes]

    @classmethod
    def generate(cls, params: Params) -> Workload:
        """Build all request bodies once, before any server starts."""
        per_thread = params.threaded_heartbeats // params.threads
        rest = params.export_events - params.get_events
        return cls(
            params=params,
            hb=heartbeat_bodies(params.heartbeats, T0),
            hb_threaded=heartbeat_bodies(per_thread, T0),
            batches_a=event_batches(params.get_events, T0 + timedelta(days=30)),
            batches_b=event_batches(rest, T0 + timedelta(days=400)),
        )


def _guard(
    results: Results, key: str, side: str, *, unit: str, higher: bool, fn: Callable[[], float]
) -> float | None:
    """Run one measurement; on failure record ERR and carry on with the next metric."""
    try:
        value = fn()
    except (BenchError, requests.RequestException, ValueError, KeyError) as exc:
        results.fail(key, side, unit, higher, repr(exc))
        return None
    results.put(key, side, value, unit, higher)
    return value


def bench_server(
    side: str, url: str, *, pid: int, data_dir: Path, work: Workload, results: Results
) -> None:
    """Run every measurement against one server and record them under ``side``."""
    p = work.params
    mib = 1024.0 * 1024.0
    sampler = RssSampler(pid)
    results.put("RSS idle (after start)", side, sampler.current() / mib, "MiB", False)
    sampler.start()
    session = requests.Session()
    try:
        # Sequential heartbeats: median throughput over runs, latency pooled over runs.
        rates: list[float] = []
        latencies: list[float] = []
        for run in range(p.runs):
            bucket = f"bench-seq-{run}"
            create_bucket(session, url, bucket)
            try:
                rate, lats = sequential_heartbeats(url, bucket, work.hb)
            except (BenchError, requests.RequestException) as exc:
                results.fail("sequential heartbeats", side, "req/s", True, repr(exc))
                break
            rates.append(rate)
            latencies.extend(lats)
        if rates:
            results.put(
                "sequential heartbeats", side, statistics.median(rates), "req/s", True, rates
            )
            results.put("heartbeat latency p50", side, percentile(latencies, 50) * 1e3, "ms", False)
            results.put("heartbeat latency p99", side, percentile(latencies, 99) * 1e3, "ms", False)

        # Concurrent heartbeats: one bucket per thread.
        thr_rates: list[float] = []
        for run in range(p.runs):
            buckets = [f"bench-thr-{run}-{t}" for t in range(p.threads)]
            for bucket in buckets:
                create_bucket(session, url, bucket)
            try:
                thr_rates.append(threaded_heartbeats(url, buckets, work.hb_threaded))
            except (BenchError, requests.RequestException) as exc:
                results.fail(f"{p.threads}-thread heartbeats", side, "req/s", True, repr(exc))
                break
        if thr_rates:
            results.put(
                f"{p.threads}-thread heartbeats",
                side,
                statistics.median(thr_rates),
                "req/s",
                True,
                thr_rates,
            )

        # Bulk insert into two buckets (A is read back, A+B are exported).
        create_bucket(session, url, "bench-bulk-a")
        create_bucket(session, url, "bench-bulk-b")
        total_events = p.export_events
        key = f"bulk insert ({BATCH}/request)"

        def insert_both() -> float:
            elapsed = bulk_insert(session, url, "bench-bulk-a", work.batches_a)
            elapsed += bulk_insert(session, url, "bench-bulk-b", work.batches_b)
            return total_events / elapsed

        if _guard(results, key, side, unit="events/s", higher=True, fn=insert_both) is not None:
            get_key = f"GET {p.get_events // 1000}k events (limit=-1)"
            times: list[float] = []
            for _ in range(p.big_runs):
                try:
                    times.append(get_all_events(session, url, "bench-bulk-a", p.get_events))
                except (BenchError, requests.RequestException, ValueError) as exc:
                    results.fail(get_key, side, "s", False, repr(exc))
                    break
            if times:
                results.put(get_key, side, statistics.median(times), "s", False, times)

            _guard(
                results,
                f"export {total_events // 1000}k events",
                side,
                unit="s",
                higher=False,
                fn=lambda: export_all(session, url, ["bench-bulk-a", "bench-bulk-b"], total_events),
            )
    finally:
        session.close()
        peak = sampler.stop()
    results.put("RSS peak (sampled 50 ms)", side, peak / mib, "MiB", False)
    results.put("data dir size", side, dir_size(data_dir) / mib, "MiB", False)


# --------------------------------------------------------------------------- the floor


def serve_floor(port: int) -> None:
    """Bare Flask on waitress (same thread count and poll loop as our server).

    The heartbeat route parses the JSON body and echoes it: no validation, no storage,
    i.e. the cost of the HTTP stack alone.
    """
    from flask import Flask, jsonify, request
    from waitress import serve

    app = Flask("aw-bench-floor")

    @app.get("/api/0/info")
    def info() -> Any:
        return jsonify({"floor": True})

    @app.post("/api/0/buckets/<bucket_id>/heartbeat")
    def heartbeat(bucket_id: str) -> Any:
        del bucket_id
        float(request.args["pulsetime"])
        return jsonify(request.get_json())

    serve(app, host="127.0.0.1", port=port, threads=8, asyncore_use_poll=True, _quiet=True)


def bench_floor(tmp: Path, work: Workload, results: Results) -> None:
    """Start the floor app as a subprocess and measure sequential "heartbeats" on it."""
    import subprocess

    port = find_free_port()
    log_path = tmp / "floor.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-floor", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/api/0/info", proc, log_path, 30.0)
        rates: list[float] = []
        lats: list[float] = []
        for _ in range(work.params.runs):
            rate, run_lats = sequential_heartbeats(url, "floor", work.hb)
            rates.append(rate)
            lats.extend(run_lats)
        results.put(
            "floor: sequential echo", "floor", statistics.median(rates), "req/s", True, rates
        )
        results.put("floor: echo latency p50", "floor", percentile(lats, 50) * 1e3, "ms", False)
        results.put("floor: echo latency p99", "floor", percentile(lats, 99) * 1e3, "ms", False)
    finally:
        stop_process(proc)


# --------------------------------------------------------------------------- main


def run_reference(tmp: Path, work: Workload, results: Results) -> str:
    """Benchmark aw-server 0.12.0; returns a status line."""
    started = time.perf_counter()
    try:
        server = start_reference_server(tmp / "reference")
    except ReferenceToolError as exc:
        return f"reference: NOT RUN ({exc})"
    with server:
        bench_server(
            "reference",
            server.url,
            pid=server.pid,
            data_dir=server.data_dir,
            work=work,
            results=results,
        )
    return f"reference: aw-server 0.12.0 ({time.perf_counter() - started:.0f}s)"


def run_ours(tmp: Path, work: Workload, results: Results) -> str:
    """Benchmark our server, or explain why it was skipped."""
    started = time.perf_counter()
    try:
        server: OurServer = start_our_server(tmp / "ours")
    except (ServerStartError, OSError) as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()] or [repr(exc)]
        detail = lines[0] if len(lines) == 1 else f"{lines[0]} (log: {lines[-1].strip()})"
        return f"ours: SKIPPED, `python -m aw_server` did not start: {detail}"
    with server:
        version = server.info.get("version", "?")
        bench_server(
            "ours",
            server.url,
            pid=server.pid,
            data_dir=server.data_dir,
            work=work,
            results=results,
        )
    return f"ours: aw_server {version} ({time.perf_counter() - started:.0f}s)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~10x smaller sizes (smoke run)")
    parser.add_argument("--runs", type=int, help="runs per short metric (median is reported)")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dirs")
    parser.add_argument("--json", type=Path, help="also write raw results as JSON here")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs is not None and not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return 0
    params = QUICK if args.quick else FULL
    if args.runs:
        params = Params(**{**params.__dict__, "runs": args.runs})
    print(f"generating data ({'quick' if args.quick else 'full'}: {params})", flush=True)
    work = Workload.generate(params)
    results = Results()
    status: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="aw-bench-"))
    try:
        if not args.skip_reference:
            print("benchmarking the reference aw-server 0.12.0 ...", flush=True)
            status.append(run_reference(tmp, work, results))
        if not args.skip_ours:
            print("benchmarking our server ...", flush=True)
            status.append(run_ours(tmp, work, results))
        if not args.skip_floor:
            print("benchmarking the Flask+waitress floor ...", flush=True)
            try:
                bench_floor(tmp, work, results)
                status.append("floor: bare Flask + waitress echo")
            except (BenchError, requests.RequestException, ReferenceToolError) as exc:
                status.append(f"floor: FAILED ({exc})")
    finally:
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    for line in status:
        print(f"- {line}")
    if not args.skip_reference:
        with contextlib.suppress(ReferenceToolError):
            versions = reference_versions()
            print("- reference venv: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"- sizes: {params}")
    print()
    print(render_table(results))
    print("\nper-run values behind the medians:")
    for metric in results.rows():
        for side, values in metric.runs.items():
            shown = ", ".join(_fmt(v, metric.unit) for v in values)
            print(f"- {metric.name} ({side}): {shown}")
    if results.errors:
        print("\nerrors:")
        for err in results.errors:
            print(f"- {err}")
    if args.json:
        raw = {
            m.name: {"unit": m.unit, "values": m.values, "notes": m.notes, "runs": m.runs}
            for m in results.rows()
        }
        args.json.write_text(json.dumps({"params": params.__dict__, "results": raw}, indent=2))
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
