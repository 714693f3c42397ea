"""Every benchmark, aw-server 0.12.0 vs ours on identical data, as one Markdown table.

    .venv/bin/python bench/suite.py                 # full sizes, 3 runs (about an hour)
    .venv/bin/python bench/suite.py --quick         # ~10x smaller (~10 min)
    .venv/bin/python bench/suite.py --runs 5 --only server,query --json /tmp/suite.json

The suite does not measure anything itself: it calls the measurement functions of the
single-purpose scripts, so a figure here means exactly what it means there.

* ``server``: ``server_bench.bench_server`` (sequential and 4-thread heartbeats with
  latency p50/p99, bulk insert, GET 100k events, export 200k, RSS idle/peak, data dir
  size) on a *fresh* server per run, the two sides taking turns run by run so a burst of
  load on the shared machine hits both; 4-thread latency comes from
  ``mixed_load.run_phase`` with 4 unpaced writers on that server right after;
* ``query``: the 30-day ``datagen`` desktop data set loaded over HTTP
  (``query_http_bench.load_http``), then the canonical summary query with ``categorize``
  (``query_bench.canonical_query``) over 1, 7 and 30 days, a new ``?name=`` per run so
  our result cache never answers;
* ``mixed``: on that same loaded server, ``mixed_load.measure`` (8 watcher threads'
  heartbeat p50/p99, idle and while the 30-day query and an export run repeatedly);
* ``import``: ``import_bench.run_ours`` (``aw-server import`` of an aw-server JSON export)
  vs ``import_bench.run_reference`` (0.12.0's ``POST /api/0/import``), time and peak RSS;
* ``month``: ``month_rss.run_side``, RSS over a simulated month of 1 Hz heartbeats (one
  run per side: it is a trend, not a spot figure).

Each cell is the median over ``--runs`` runs with the min–max range in brackets; the
ratio is ours / reference of the medians. Every server runs on a free 127.0.0.1 port
with a temp data dir and is stopped by PID; every loop is bounded by a count and every
request by a timeout. Exit status 1 if any measurement failed (its cell says ERR and the
reason is listed under the table).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_bench
import mixed_load
import month_rss
import server_bench
from _util import BenchServer, RssSampler, ServerStartError, spread, start_our_server
from query_bench import canonical_query
from query_http_bench import load_http, period, run_query

from tests.support.reference import (
    ReferenceToolError,
    reference_versions,
    start_reference_server,
)

SIDES = ("reference", "ours")
SECTIONS = ("server", "query", "mixed", "import", "month")
MIB = 1024.0 * 1024.0
#: The reference gets this long for one import before its figure becomes a lower bound.
REFERENCE_IMPORT_TIMEOUT_S = 1800.0
#: Query periods: (label, days, offset in days from the data's first day).
QUERY_PERIODS = (("1-day", 1, 2), ("7-day", 7, 0), ("30-day", 30, 0))


@dataclass(frozen=True)
class SuiteParams:
    """Sizes of every section; ``--quick`` shrinks them about tenfold."""

    server: server_bench.Params
    query_events: int | None  # window events over 30 days; None: datagen's ~430k
    mixed: mixed_load.MixedParams
    import_mb: int
    month: month_rss.MonthParams


FULL = SuiteParams(
    server=replace(server_bench.FULL, runs=1, big_runs=1),
    query_events=None,
    mixed=mixed_load.FULL,
    import_mb=20,
    # 30 s of every 30 min: 29k requests, so the reference (~80 req/s here) takes minutes,
    # not the 35 min month_rss.py's own default would cost it.
    month=replace(month_rss.FULL, sample_s=30, slot_s=1800, every=1000),
)
QUICK = SuiteParams(
    server=replace(server_bench.QUICK, runs=1, big_runs=1),
    query_events=43_000,
    mixed=mixed_load.QUICK,
    import_mb=2,
    month=replace(month_rss.QUICK, sample_s=30, every=500),
)


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One table row: the per-run values of each side."""

    name: str
    unit: str
    higher_is_better: bool
    values: dict[str, list[float]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


class Table:
    """Rows in first-seen order, plus the reasons of failed measurements."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.errors: list[str] = []
        self.notes: list[str] = []

    def add(self, name: str, side: str, value: float, unit: str, higher: bool) -> None:
        """Record one run's value of ``name`` for ``side``."""
        row = self.rows.setdefault(name, Row(name, unit, higher))
        row.values.setdefault(side, []).append(value)

    def fail(self, name: str, side: str, unit: str, higher: bool, reason: str) -> None:
        """Mark ``name`` as failed for ``side``; the reason goes under the table."""
        row = self.rows.setdefault(name, Row(name, unit, higher))
        row.failed.add(side)
        self.errors.append(f"{side}: {name}: {reason}")

    def render(self) -> str:
        """The Markdown table: metric, reference, ours, ratio (ours / reference)."""
        lines = ["| metric | reference | ours | ratio (ours/ref) |", "|---|---:|---:|---:|"]
        for row in self.rows.values():
            arrow = "↑" if row.higher_is_better else "↓"
            cells = []
            medians: dict[str, float] = {}
            for side in SIDES:
                values = row.values.get(side, [])
                if values:
                    med, low, high = spread(values)
                    medians[side] = med
                    cell = _fmt(med, row.unit)
                    if len(values) > 1:
                        cell += f" ({_fmt(low, row.unit)}–{_fmt(high, row.unit)})"
                    cells.append(cell)
                else:
                    cells.append("ERR" if side in row.failed else "—")
            ref, ours = medians.get("reference"), medians.get("ours")
            ratio = f"{ours / ref:.2f}" if ref and ours is not None else "—"
            lines.append(f"| {row.name} [{row.unit}] {arrow} | {cells[0]} | {cells[1]} | {ratio} |")
        return "\n".join(lines)

    def as_json(self) -> dict[str, object]:
        """Raw per-run values, for comparing suite runs over time."""
        return {
            name: {"unit": r.unit, "higher_is_better": r.higher_is_better, "runs": r.values,
                   "failed": sorted(r.failed)}
            for name, r in self.rows.items()
        }


def _fmt(value: float, unit: str) -> str:
    if unit in {"ms", "s"}:
        return f"{value:.3g}" if value < 10 else f"{value:,.1f}"
    if unit in {"MiB", "MiB/100k"}:
        return f"{value:.1f}"
    return f"{value:,.0f}"


# --------------------------------------------------------------------------- servers


def start_side(side: str, root: Path) -> BenchServer:
    """Start the reference (its own venv) or ours, in a fresh dir below ``root``."""
    if side == "reference":
        return start_reference_server(root)
    return start_our_server(root)


def _guarded(table: Table, section: str, side: str, fn: Callable[[], None]) -> None:
    """Run one section for one side; a failure costs that section, not the suite."""
    try:
        fn()
    except (ReferenceToolError, ServerStartError, server_bench.BenchError,
            requests.RequestException, OSError, ValueError, KeyError, SystemExit) as exc:
        table.fail(f"({section} section)", side, "-", True, f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- sections


def section_server(tmp: Path, params: SuiteParams, runs: int, sides: list[str],
                   table: Table) -> None:
    """``server_bench.bench_server`` on a fresh server per run, sides taking turns."""
    work = server_bench.Workload.generate(params.server)
    for run in range(runs):
        for side in sides:
            print(f"[server] run {run + 1}/{runs}: {side}", flush=True)

            def one(side: str = side, run: int = run) -> None:
                server = start_side(side, tmp / f"server-{side}-{run}")
                results = server_bench.Results()
                try:
                    server_bench.bench_server(side, server.url, pid=server.pid,
                                              data_dir=server.data_dir, work=work,
                                              results=results)
                    # bench_server times the threaded heartbeats as a whole; per-request
                    # latency comes from the same unpaced pattern in mixed_load's writers.
                    threads = params.server.threads
                    phase = mixed_load.run_phase(
                        server.url,
                        mixed_load.MixedParams(writers=threads, rate_hz=float("inf"),
                                               beats=params.server.threaded_heartbeats // threads),
                        f"lat-{run}", background=False, query=[], timeperiod="")
                finally:
                    server.stop()
                for metric in results.rows():
                    if side in metric.values:
                        table.add(metric.name, side, metric.values[side], metric.unit,
                                  metric.higher_is_better)
                    elif side in metric.notes:
                        table.rows.setdefault(metric.name, Row(
                            metric.name, metric.unit, metric.higher_is_better)).failed.add(side)
                    if metric.name == f"{threads}-thread heartbeats":  # its latency next to it
                        for pct in (50, 99):
                            name = f"{threads}-thread heartbeat latency p{pct}"
                            if phase.errors:
                                table.fail(name, side, "ms", False, phase.errors[0])
                            else:
                                table.add(name, side, phase.p(pct), "ms", False)
                table.errors.extend(results.errors)

            _guarded(table, "server", side, one)


def section_query_and_mixed(tmp: Path, params: SuiteParams, runs: int, sides: list[str],
                            table: Table, *, query: bool, mixed: bool) -> None:
    """Load the 30-day data once per side, then the summary queries and the mixed load."""
    data = mixed_load.dataset(replace(params.mixed, window_events=params.query_events))
    n_events = sum(len(v) for v in data.values())
    program = canonical_query()
    active: dict[str, float] = {}
    for side in sides:
        print(f"[query/mixed] {side}: loading {n_events:,} events", flush=True)

        def one(side: str = side) -> None:
            server = start_side(side, tmp / f"query-{side}")
            try:
                loaded, secs = load_http(server.url, data, float("inf"))
                if loaded != n_events:
                    raise ValueError(f"loaded {loaded} of {n_events} events")
                table.add("load 30-day data over HTTP (1000/request)", side, loaded / secs,
                          "events/s", True)
                if query:
                    sampler = RssSampler(server.pid).start()
                    try:
                        for run in range(runs):
                            for label, days, offset in QUERY_PERIODS:
                                elapsed, result = run_query(
                                    server.url, program, period(days, offset),
                                    f"suite-{side}-{label}-{run}-{time.time_ns()}")
                                table.add(f"summary query {label} (categorize)", side,
                                          elapsed, "s", False)
                                if days == 30:
                                    active[side] = float(result["window"]["duration"])
                    finally:
                        table.add("RSS peak during summary queries", side,
                                  sampler.stop() / MIB, "MiB", False)
                if mixed:
                    for run in range(runs):
                        print(f"[mixed] run {run + 1}/{runs}: {side}", flush=True)
                        res = mixed_load.measure(server.url, params.mixed, f"{side}-{run}",
                                                 program, period(params.mixed.days))
                        for phase_name, phase in (("idle", res.idle),
                                                  ("with query+export", res.loaded)):
                            if phase.errors:
                                raise ValueError(f"mixed load ({phase_name}): {phase.errors[0]}")
                            w = params.mixed.writers
                            for pct in (50, 99):
                                table.add(f"{w} watchers' heartbeat p{pct}, {phase_name}", side,
                                          phase.p(pct), "ms", False)
                        table.notes.append(
                            f"mixed run {run + 1} ({side}): {res.loaded.queries_done} queries and "
                            f"{res.loaded.exports_done} exports finished during the "
                            f"{res.loaded.wall_s:.0f} s loaded phase")
            finally:
                server.stop()

        _guarded(table, "query/mixed", side, one)
    if len(active) == 2 and abs(active["reference"] - active["ours"]) > 1.0:
        table.notes.append(
            f"30-day active time differs: reference {active['reference'] / 3600:.3f} h, "
            f"ours {active['ours'] / 3600:.3f} h")


def section_import(tmp: Path, params: SuiteParams, runs: int, sides: list[str],
                   table: Table) -> None:
    """The same aw-server JSON export imported by each side, a fresh target per run."""
    export = tmp / "import-export.json"
    count = import_bench.make_export(export, params.import_mb)
    name = f"import {params.import_mb} MB export ({count // 1000}k events)"
    for run in range(runs):
        for side in sides:
            print(f"[import] run {run + 1}/{runs}: {side}", flush=True)
            workdir = tmp / f"import-{side}-{run}"
            workdir.mkdir(parents=True)

            def one(side: str = side, workdir: Path = workdir) -> None:
                if side == "ours":
                    secs, peak, _line = import_bench.run_ours(export, workdir)
                else:
                    secs, peak, finished = import_bench.run_reference(
                        export, workdir, REFERENCE_IMPORT_TIMEOUT_S)
                    if not finished:
                        table.notes.append(
                            f"reference import hit the {REFERENCE_IMPORT_TIMEOUT_S:.0f} s "
                            "timeout: its time is a lower bound")
                table.add(name, side, secs, "s", False)
                table.add("import peak RSS", side, peak / MIB, "MiB", False)

            _guarded(table, "import", side, one)


def section_month(tmp: Path, params: SuiteParams, sides: list[str], table: Table) -> None:
    """One simulated month (or ``--quick``'s few days) of heartbeats per side."""
    p = params.month
    label = f"{p.days} simulated days, {p.heartbeats // 1000}k heartbeats"
    for side in sides:
        print(f"[month] {side}: {label}", flush=True)

        def one(side: str = side) -> None:
            result = month_rss.run_side(side, tmp / f"month-{side}", p)
            if result.errors:
                raise ValueError(result.errors[0])
            table.add(f"RSS max over {label}", side, result.max_mib, "MiB", False)
            table.add("RSS growth slope, 2nd half", side, result.slope(), "MiB/100k", False)
            table.add(f"data dir after {p.days} simulated days", side, result.data_mib,
                      "MiB", False)

        _guarded(table, "month", side, one)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~10x smaller sizes")
    parser.add_argument("--runs", type=int, default=3, help="runs per metric, 1-20 (default 3)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    parser.add_argument("--skip-reference", action="store_true", help="ours only")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dirs")
    parser.add_argument("--json", type=Path, help="also write the per-run values here")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = QUICK if args.quick else FULL
    sides = ["ours"] if args.skip_reference else list(SIDES)
    table = Table()
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="aw-suite-"))
    try:
        if "server" in args.sections:
            section_server(tmp, params, args.runs, sides, table)
        if "query" in args.sections or "mixed" in args.sections:
            section_query_and_mixed(tmp, params, args.runs, sides, table,
                                    query="query" in args.sections,
                                    mixed="mixed" in args.sections)
        if "import" in args.sections:
            section_import(tmp, params, args.runs, sides, table)
        if "month" in args.sections:
            section_month(tmp, params, sides, table)
    finally:
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"- mode: {'quick' if args.quick else 'full'}, {args.runs} run(s) per metric; "
          f"{time.perf_counter() - began:.0f} s; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (2 shared cores: compare columns, not days)")
    if "reference" in sides:
        with contextlib.suppress(ReferenceToolError):
            versions = reference_versions()
            print("- reference: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"- sizes: {params}")
    print("- cells: median (min–max) over runs; ↑ higher is better, ↓ lower is better")
    print()
    print(table.render())
    for note in table.notes:
        print(f"- {note}")
    if table.errors:
        print("\nerrors:")
        for err in table.errors:
            print(f"- {err}")
    if args.json:
        args.json.write_text(json.dumps({"params": repr(params), "runs": args.runs,
                                         "results": table.as_json(),
                                         "errors": table.errors}, indent=2))
    return 1 if table.errors else 0


if __name__ == "__main__":
    sys.exit(main())
