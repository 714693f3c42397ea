"""Time to first meaningful paint of the dashboard's Activity view, in headless Chromium.

    .venv/bin/python bench/dashboard_bench.py             # 100k and 1M events, from 2024-01-01
    .venv/bin/python bench/dashboard_bench.py --sizes 100000 --runs 1

For each size a database is built once (datagen's window + AFK buckets over 34 days from
2024-01-01, written straight into the datastore; January holds ~96 % of the events) and
cached under --cache. For each range (day 2024-01-15, its Monday-Sunday week, the month
of January) our server starts as a subprocess and serves one unrelated view first
(2024-02-01: code loaded and rules compiled, as on a server that has been up a while, but
nothing of the measured range cached; `--fresh` skips this), then Chromium opens
`/#/activity?...` and we read two marks the app sets: `aw-activity-first-paint` (the
first day's numbers are on screen) and `aw-activity-complete` (every day loaded). Both
are milliseconds since navigation start, so they include loading the page, its modules,
settings and bucket list. A second visit on the same server shows the warm-cache time.
Needs Debian's chromium and `playwright`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datagen
from _util import start_our_server

from aw_server.datastore.store import Datastore
from aw_server.models import Bucket

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
# datagen fills ~95 % of the span, so 34 days cover all of January (which then holds ~96 %
# of the events) and the month view's newest day, Jan 31, is a full day like the others.
DAYS = 34
RANGES = {"day": "range=day&date=2024-01-15", "week": "range=week&date=2024-01-15",
          "month": "range=month&date=2024-01-15"}


def build_db(path: Path, events: int) -> None:
    """datagen's data from 2024-01-01 with `events` window events, inserted in bulk."""
    done = path.with_name(path.name + ".complete")
    if done.exists():
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    store = Datastore(path)
    for bucket_id, type_ in ((datagen.WINDOW_BUCKET, "currentwindow"),
                             (datagen.AFK_BUCKET, "afkstatus")):
        store.buckets.create(Bucket(bucket_id, type_, "bench", datagen.HOSTNAME,
                                   "2024-01-01T00:00:00+00:00"))
    batch: dict[str, list[Any]] = {}
    for bucket_id, event in datagen.generate(seed=42, days=DAYS, window_events=events):
        chunk = batch.setdefault(bucket_id, [])
        chunk.append(event)
        if len(chunk) >= 20_000:
            store.events.insert(bucket_id, chunk)
            batch[bucket_id] = []
    for bucket_id, chunk in batch.items():
        if chunk:
            store.events.insert(bucket_id, chunk)
    store.close()
    done.touch()
    print(f"built {path.name}: {events:,} window events in {time.perf_counter() - began:.0f} s",
          flush=True)


def measure(browser: Any, url: str, timeout_s: float) -> tuple[float, float]:
    """(first paint, complete) in ms since navigation start."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_function(
            "performance.getEntriesByName('aw-activity-complete').length > 0",
            timeout=timeout_s * 1000, polling=50)
        marks = page.evaluate(
            "['aw-activity-first-paint', 'aw-activity-complete']"
            ".map((n) => performance.getEntriesByName(n)[0].startTime)")
        if errors:
            raise RuntimeError(f"page errors: {errors}")
        return float(marks[0]), float(marks[1])
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per cell (median)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "aw-dashboard-bench")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--fresh", action="store_true",
                        help="measure on a just-started server (no warm-up visit)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for size in args.sizes:
            db = args.cache / f"dashboard-{size}-{DAYS}d.db"
            build_db(db, size)
            for name, query in RANGES.items():
                cold_first, cold_done, warm, warm_done = [], [], [], []
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory() as root:
                        server = start_our_server(Path(root), db_path=db)
                        try:
                            base = f"{server.url}/#/activity?host={datagen.HOSTNAME}"
                            if not args.fresh:
                                # A server that has been up a while: code loaded, regexes
                                # compiled, but nothing of the measured range cached.
                                measure(browser, f"{base}&range=day&date=2024-02-01",
                                        args.timeout)
                            url = f"{base}&{query}"
                            first, done = measure(browser, url, args.timeout)
                            cold_first.append(first)
                            cold_done.append(done)
                            again = measure(browser, url, args.timeout)
                            warm.append(again[0])
                            warm_done.append(again[1])
                        finally:
                            server.stop()
                row = (f"| {size:>9,} | {name:<5} | {statistics.median(cold_first):7.0f} | "
                       f"{statistics.median(cold_done):7.0f} | {statistics.median(warm):7.0f} | "
                       f"{statistics.median(warm_done):7.0f} |")
                rows.append(row)
                print(row, flush=True)
        browser.close()
    print("\n| events | range | first paint, cold (ms) | all days, cold (ms) "
          "| first paint, warm (ms) | all days, warm (ms) |")
    print("|---:|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
