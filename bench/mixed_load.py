"""Heartbeat latency while the dashboard queries and an export run: reference vs ours.

    .venv/bin/python bench/mixed_load.py [--quick] [--runs 3] [--skip-reference]

A desktop runs several watchers (window, AFK, browser tabs, editors...) that each send a
heartbeat a second, forever, while the user opens the dashboard (a 30-day summary with
``categorize``) or exports everything. If a long read holds a lock or hogs the server,
every watcher's heartbeat waits behind it, and watchers with short timeouts drop data.
So this measures heartbeat latency p50/p99 twice on the same server and data:

1. *idle*: 8 watcher threads, each with its own bucket and keep-alive session, send
   heartbeats whose timestamps are 1 s apart (fast-forward: paced at ``--rate`` per
   second per watcher in real time), titles flipping every third beat so most merge;
2. *loaded*: the same, while one thread repeats the canonical 30-day desktop query
   (``bench/query_bench.py``, distinct ``?name=`` each time so no result cache answers)
   and another repeats ``GET /api/0/export``, both until the watchers are done.

Both servers get the 30-day ``bench/datagen.py`` data set (seed 42) over HTTP first.
``measure()`` is what ``bench/suite.py`` calls on servers it has already loaded.

Every loop is bounded by a count, every request by a timeout; servers run one after the
other on free loopback ports with temp data dirs and are stopped by PID.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datagen
from _util import BenchServer, percentile, start_our_server
from query_bench import canonical_query
from query_http_bench import by_bucket, load_http, period
from server_bench import JSON_HEADERS, PULSETIME, T0, create_bucket, heartbeat_bodies

from aw_server.models import Event
from tests.support.reference import ReferenceToolError, start_reference_server

#: Timeout of one heartbeat; a watcher that waits longer than this has a real problem.
HEARTBEAT_TIMEOUT_S = 30.0
#: Timeout of one background query or export (the reference needs minutes on big data).
BACKGROUND_TIMEOUT_S = 900.0
#: Hard cap on background repetitions within one phase (the loops stop earlier anyway).
MAX_BACKGROUND_REPEATS = 10_000


@dataclass(frozen=True)
class MixedParams:
    """Size of one measurement; ``QUICK`` is a smoke run of a few seconds per phase."""

    writers: int = 8
    beats: int = 300  # per writer and phase: 30 s per phase at 10/s
    rate_hz: float = 10.0
    window_events: int | None = None  # datagen default: ~430k over 30 days
    days: int = 30


FULL = MixedParams()
QUICK = MixedParams(beats=60, window_events=43_000)


@dataclass
class PhaseResult:
    """Latencies (seconds) of every acknowledged heartbeat in one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    queries_done: int = 0
    exports_done: int = 0
    wall_s: float = 0.0

    def p(self, pct: float) -> float:
        """Latency percentile in milliseconds."""
        return percentile(self.latencies, pct) * 1e3


@dataclass
class MixedResult:
    """The two phases of one measurement."""

    idle: PhaseResult
    loaded: PhaseResult


def _writer(
    url: str,
    bucket: str,
    bodies: list[bytes],
    rate_hz: float,
    start_at: float,
    out: PhaseResult,
    lock: threading.Lock,
) -> None:
    """One watcher: paced heartbeats on its own session; latencies go to ``out``.

    Pacing follows a fixed schedule from ``start_at``; a writer that falls behind sends
    the next beat at once rather than bunching to catch up, and latency is measured from
    the actual send, so a stalled server shows up as long requests, not skipped ones.
    """
    endpoint = f"{url}/api/0/buckets/{bucket}/heartbeat?pulsetime={PULSETIME}"
    mine: list[float] = []
    errors: list[str] = []
    with requests.Session() as session:
        session.headers.update(JSON_HEADERS)
        for i, body in enumerate(bodies):
            delay = start_at + i / rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            try:
                resp = session.post(endpoint, data=body, timeout=HEARTBEAT_TIMEOUT_S)
            except requests.RequestException as exc:
                errors.append(f"{bucket}: {exc!r}")
                continue
            elapsed = time.perf_counter() - began
            if resp.status_code == 200:
                mine.append(elapsed)
            else:
                errors.append(f"{bucket}: HTTP {resp.status_code}: {resp.text[:200]!r}")
    with lock:
        out.latencies.extend(mine)
        out.errors.extend(errors[:5])


def _query_loop(
    url: str, query: list[str], timeperiod: str, stop: threading.Event, out: PhaseResult
) -> None:
    """Repeat the dashboard query (a new ``name`` each time: no cached answers)."""
    for i in range(MAX_BACKGROUND_REPEATS):
        if stop.is_set():
            return
        try:
            resp = requests.post(
                f"{url}/api/0/query/",
                params={"name": f"mixed-{i}-{time.time_ns()}"},
                json={"timeperiods": [timeperiod], "query": query},
                timeout=BACKGROUND_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            out.errors.append(f"query: {exc!r}")
            return
        if resp.status_code != 200:
            out.errors.append(f"query: HTTP {resp.status_code}: {resp.text[:200]!r}")
            return
        out.queries_done += 1


def _export_loop(url: str, stop: threading.Event, out: PhaseResult) -> None:
    """Repeat a full export, reading (and discarding) the whole streamed body."""
    for _ in range(MAX_BACKGROUND_REPEATS):
        if stop.is_set():
            return
        try:
            with requests.get(
                f"{url}/api/0/export", stream=True, timeout=BACKGROUND_TIMEOUT_S
            ) as resp:
                if resp.status_code != 200:
                    out.errors.append(f"export: HTTP {resp.status_code}")
                    return
                for _chunk in resp.iter_content(chunk_size=1 << 20):
                    pass
        except requests.RequestException as exc:
            out.errors.append(f"export: {exc!r}")
            return
        out.exports_done += 1


def run_phase(
    url: str,
    params: MixedParams,
    tag: str,
    *,
    background: bool,
    query: list[str],
    timeperiod: str,
) -> PhaseResult:
    """One phase: ``params.writers`` paced watchers, with or without the background load."""
    out = PhaseResult()
    lock = threading.Lock()
    buckets = [f"mixed-{tag}-{'bg' if background else 'idle'}-{w}" for w in range(params.writers)]
    with requests.Session() as session:
        for bucket in buckets:
            create_bucket(session, url, bucket)
    bodies = heartbeat_bodies(params.beats, T0 + timedelta(days=900))
    stop = threading.Event()
    helpers: list[threading.Thread] = []
    if background:
        helpers = [
            threading.Thread(target=_query_loop, args=(url, query, timeperiod, stop, out),
                             name="mixed-query", daemon=True),
            threading.Thread(target=_export_loop, args=(url, stop, out),
                             name="mixed-export", daemon=True),
        ]
        for helper in helpers:
            helper.start()
        time.sleep(0.5)  # let both background requests reach the server first
    start_at = time.monotonic() + 0.05
    writers = [
        threading.Thread(target=_writer, args=(url, b, bodies, params.rate_hz, start_at, out, lock),
                         name=f"mixed-writer-{i}", daemon=True)
        for i, b in enumerate(buckets)
    ]
    began = time.perf_counter()
    for thread in writers:
        thread.start()
    writer_budget = params.beats / params.rate_hz + params.beats * HEARTBEAT_TIMEOUT_S
    for thread in writers:
        thread.join(timeout=writer_budget)
    out.wall_s = time.perf_counter() - began
    stop.set()
    for helper in helpers:
        helper.join(timeout=BACKGROUND_TIMEOUT_S + 5)
    if any(t.is_alive() for t in writers + helpers):
        out.errors.append("a writer or background thread did not finish in time")
    return out


def measure(
    url: str, params: MixedParams, tag: str, query: list[str] | None = None,
    timeperiod: str | None = None,
) -> MixedResult:
    """Idle phase then loaded phase on a server that already holds the 30-day data."""
    query = query if query is not None else canonical_query()
    timeperiod = timeperiod if timeperiod is not None else period(params.days)
    idle = run_phase(url, params, tag, background=False, query=query, timeperiod=timeperiod)
    loaded = run_phase(url, params, tag, background=True, query=query, timeperiod=timeperiod)
    return MixedResult(idle, loaded)


def dataset(params: MixedParams) -> dict[str, list[Event]]:
    """The 30-day desktop data both servers receive (deterministic, seed 42)."""
    return by_bucket(datagen.generate(seed=42, days=params.days,
                                      window_events=params.window_events))


# --------------------------------------------------------------------------- CLI


def _side(name: str, root: Path, params: MixedParams, runs: int,
          data: dict[str, list[Event]]) -> list[MixedResult]:
    """Start one server, load the data, measure ``runs`` times, stop it."""
    server: BenchServer = (
        start_reference_server(root / name) if name == "reference"
        else start_our_server(root / name)
    )
    url = server.url
    try:
        loaded, secs = load_http(url, data, float("inf"))
        print(f"{name}: loaded {loaded:,} events in {secs:.0f} s", flush=True)
        results = []
        for run in range(runs):
            results.append(measure(url, params, f"{name}-{run}"))
        return results
    finally:
        server.stop()


def _cell(values: list[float]) -> str:
    if not values:
        return "—"
    med = statistics.median(values)
    return f"{med:.1f} ({min(values):.1f}–{max(values):.1f})" if len(values) > 1 else f"{med:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="43k events, 60 beats per writer")
    parser.add_argument("--runs", type=int, default=3, help="measurements per server (1-20)")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--writers", type=int, help="watcher threads (default 8)")
    parser.add_argument("--beats", type=int, help="heartbeats per writer and phase")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    params = QUICK if args.quick else FULL
    if args.writers:
        params = MixedParams(**{**params.__dict__, "writers": args.writers})
    if args.beats:
        params = MixedParams(**{**params.__dict__, "beats": args.beats})
    data = dataset(params)
    sides = ["ours"] if args.skip_reference else ["reference", "ours"]
    results: dict[str, list[MixedResult]] = {}
    errors: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="aw-mixed-load-"))
    try:
        for side in sides:
            try:
                results[side] = _side(side, tmp, params, args.runs, data)
            except (ReferenceToolError, RuntimeError, requests.RequestException) as exc:
                errors.append(f"{side}: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{params.writers} writers x {params.beats} beats per phase at "
          f"{params.rate_hz:g}/s each; median (min–max) over {args.runs} runs, ms\n")
    print("| heartbeat latency | " + " | ".join(sides) + " |")
    print("|---|" + "---:|" * len(sides))
    rows = [("p50 idle", "idle", 50), ("p99 idle", "idle", 99),
            ("p50 with query+export", "loaded", 50), ("p99 with query+export", "loaded", 99)]
    for label, phase, pct in rows:
        cells = [_cell([getattr(r, phase).p(pct) for r in results.get(s, [])]) for s in sides]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for side in sides:
        for r in results.get(side, []):
            errors.extend(f"{side}: {e}" for e in r.idle.errors + r.loaded.errors)
            print(f"- {side}: {r.loaded.queries_done} queries, {r.loaded.exports_done} "
                  f"exports finished during a {r.loaded.wall_s:.0f} s loaded phase")
    for err in errors:
        print(f"- error: {err}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
