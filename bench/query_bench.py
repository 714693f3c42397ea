"""Latency and peak memory of the canonical desktop summary query through `run_query`.

    .venv/bin/python bench/query_bench.py            # 100k window events over 7 days
    .venv/bin/python bench/query_bench.py --large    # also 1M events over 30 days
    .venv/bin/python bench/query_bench.py --year     # also 5M events over 365 days

Each size runs in its own process so peak RSS belongs to that size alone. The query is
aw-webui's `fullDesktopQuery` without the browser and stopwatch parts: flood, AFK filter,
categorize with 12 regex rules, merge by app/title/category, top-100 limits.

The events sit in memory (`datagen.ArraySource`), so this measures the query engine
without storage reads: by default on the columnar tables the Datastore also gives, with
`--lists` on lists of `Event` (the path for sources without `event_table`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import datagen

from aw_server.models import format_us
from aw_server.query import QueryLimits, run_query
from tests.support.queries import desktop_summary


def canonical_query() -> list[str]:
    return desktop_summary(f'find_bucket("{datagen.WINDOW_BUCKET}")',
                           f'find_bucket("{datagen.AFK_BUCKET}")',
                           json.dumps(datagen.CATEGORY_RULES))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class ListsOnly:
    """The source without `event_table`: the engine then runs on lists of Event."""

    def __init__(self, source: datagen.ArraySource) -> None:
        self.buckets = source.buckets
        self.events = source.events
        self.eventcount = source.eventcount
        self.change_marker = source.change_marker


def run_size(
    days: int, events: int, periods: list[int], repeats: int, share_data: bool, lists: bool
) -> None:
    arrays = datagen.ArraySource(
        datagen.generate(seed=42, days=days, window_events=events), share_data=share_data
    )
    source: Any = ListsOnly(arrays) if lists else arrays
    loaded_rss = peak_rss_mib()
    query = canonical_query()
    limits = QueryLimits(max_seconds=600)
    for period_days in periods:
        start = datagen.START_US
        period = f"{format_us(start)}/{format_us(start + period_days * datagen.DAY_US)}"
        timings = []
        cpu = []
        for _ in range(repeats):
            began, began_cpu = time.perf_counter(), time.process_time()
            result = run_query(query, [period], source, limits=limits)
            timings.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        active = result[0]["window"]["duration"] / 3600
        print(
            f"{events:>9,} events in store | {period_days:>2}-day period: "
            f"wall median {statistics.median(timings) * 1000:7.0f} ms, "
            f"min {min(timings) * 1000:7.0f} ms; CPU min {min(cpu) * 1000:7.0f} ms "
            f"({repeats} runs, active {active:.1f} h)"
        )
    print(f"    peak RSS {peak_rss_mib():.0f} MiB (data alone: {loaded_rss:.0f} MiB); "
          f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run 1M events / 30 days")
    parser.add_argument("--year", action="store_true", help="also run 5M events / 365 days")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--copy-data", action="store_true",
                        help="a fresh data dict per event (storage without interning)")
    parser.add_argument("--lists", action="store_true",
                        help="run on lists of Event instead of the columnar tables")
    parser.add_argument("--size", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    share = not args.copy_data
    if args.size == "small":
        run_size(7, 100_000, [1, 7], args.repeats, share, args.lists)
        return
    if args.size == "large":
        run_size(30, 1_000_000, [1, 7, 30], max(1, args.repeats // 2), share, args.lists)
        return
    if args.size == "year":
        run_size(365, 5_000_000, [365], max(1, args.repeats // 2), share, args.lists)
        return
    sizes = ["small", "large"] if args.large else ["small"]
    sizes += ["year"] if args.year else []
    for size in sizes:
        command = [sys.executable, __file__, "--size", size, "--repeats", str(args.repeats)]
        command += ["--copy-data"] if args.copy_data else []
        subprocess.run(command + (["--lists"] if args.lists else []), check=True)


if __name__ == "__main__":
    main()
