"""The dashboard's Year range in headless Chromium: progress, first numbers, whole year.

    .venv/bin/python bench/year_bench.py --sizes 500000 --runs 1
    .venv/bin/python bench/year_bench.py --sizes 5000000 --runs 1
    .venv/bin/python bench/year_bench.py --sizes 500000 --batch 1 7 31   # days per request

For each size a database is built once and cached under --cache: datagen's window + AFK
buckets from 2024-01-01, spread so that they cover all of 2024 (a few events spill into
the first day of 2025), written straight into the datastore.
Our server starts as a subprocess, serves one unrelated day first (2025-01-10, nothing
of 2024 cached; `--fresh` skips this), then Chromium opens
`/#/activity?range=year&date=2024-01-01` and we read three marks the app sets, in ms since
navigation start: `aw-year-progress` (the empty year with its progress bar is on
screen), `aw-activity-first-paint` (the first numbers), `aw-activity-complete` (every
day in). A second visit on the same server gives the warm (cached) times. Last, on a
loaded Day view (2024-12-31) the "Year" button is pressed: ms from the click to the
empty year with its progress bar and to the first numbers (the page and its modules are
loaded by then, as when someone switches ranges).

`--batch N` serves the page with the view's most days per request set to N (the file is
rewritten in flight by Playwright, the app is not changed): `--batch 1` is one day per
request, as before the Year range; the default lets the view grow batches up to 31 days
while answers come back quickly.
Needs Debian's chromium and `playwright`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datagen
from _util import start_our_server
from dashboard_bench import CHROMIUM, FLAGS, build_db

DAYS = 366  # 2024 is a leap year
# datagen fills ~95 % of the days it is given (its events end ~5 % early), so it gets a
# longer span for the year to have data up to Dec 31, the first day the view asks for.
SPAN_DAYS = 387
YEAR_URL = "range=year&date=2024-01-01"
WARMUP_URL = "range=day&date=2025-01-10"
MARKS = ["aw-year-progress", "aw-activity-first-paint", "aw-activity-complete"]
BATCH_LINE = re.compile(r"const MAX_BATCH_DAYS = \d+;")


def measure(browser: Any, url: str, timeout_s: float, batch: int | None) -> list[float]:
    """The three marks in ms since navigation start."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    if batch is not None:
        def rewrite(route: Any) -> None:
            response = route.fetch()
            body, found = BATCH_LINE.subn(f"const MAX_BATCH_DAYS = {batch};", response.text())
            if not found:
                raise RuntimeError("activity.js has no MAX_BATCH_DAYS line: update BATCH_LINE")
            route.fulfill(response=response, body=body)
        context.route("**/js/views/activity.js", rewrite)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_function(
            "performance.getEntriesByName('aw-activity-complete').length > 0",
            timeout=timeout_s * 1000, polling=100)
        marks = page.evaluate(
            "(names) => names.map((n) => (performance.getEntriesByName(n)[0] || {}).startTime)",
            MARKS)
        failed = page.locator(".error").count()
        if errors or failed:
            raise RuntimeError(f"page errors: {errors}, error boxes: {failed}")
        return [float(m) if m is not None else float("nan") for m in marks]
    finally:
        context.close()


def measure_switch(browser: Any, base: str, timeout_s: float) -> tuple[float, float]:
    """From a loaded Day view (2024-12-31), press "Year": ms from the click to the empty
    year with its progress bar, and to the first numbers."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    page = context.new_page()
    try:
        page.goto(f"{base}&range=day&date=2024-12-31")
        page.wait_for_function(
            "performance.getEntriesByName('aw-activity-complete').length > 0",
            timeout=timeout_s * 1000, polling=100)
        page.evaluate("""() => {
            performance.clearMarks();
            window.yearBenchClick = performance.now();
            [...document.querySelectorAll('button')].find((b) => b.textContent === 'Year').click();
        }""")
        page.wait_for_function(
            "performance.getEntriesByName('aw-activity-first-paint').length > 0",
            timeout=timeout_s * 1000, polling=50)
        times = page.evaluate("""() => ['aw-year-progress', 'aw-activity-first-paint']
            .map((n) => performance.getEntriesByName(n)[0].startTime - window.yearBenchClick)""")
        return float(times[0]), float(times[1])
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000])
    parser.add_argument("--runs", type=int, default=1, help="cold runs per cell (median)")
    parser.add_argument("--batch", type=int, nargs="+", default=[None],
                        help="most days per request to try (default: the app's own)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "yearview-bench")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--fresh", action="store_true",
                        help="measure on a just-started server (no warm-up visit)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for size in args.sizes:
            db = args.cache / f"year-{size}-{SPAN_DAYS}d.db"
            build_db(db, size, days=SPAN_DAYS)
            for batch in args.batch:
                cold: list[list[float]] = []
                warm: list[list[float]] = []
                switch: list[tuple[float, float]] = []
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory(prefix="yearview-") as root:
                        server = start_our_server(Path(root), db_path=db)
                        try:
                            base = f"{server.url}/#/activity?host={datagen.HOSTNAME}"
                            if not args.fresh:
                                measure(browser, f"{base}&{WARMUP_URL}", args.timeout, batch)
                            url = f"{base}&{YEAR_URL}"
                            cold.append(measure(browser, url, args.timeout, batch))
                            warm.append(measure(browser, url, args.timeout, batch))
                            switch.append(measure_switch(browser, base, args.timeout))
                        finally:
                            server.stop()
                med = [statistics.median(run[i] for run in cold) for i in range(3)]
                wmed = [statistics.median(run[i] for run in warm) for i in range(3)]
                smed = [statistics.median(run[i] for run in switch) for i in range(2)]
                row = (f"| {size:>9,} | {batch if batch is not None else 'app':>5} | "
                       + " | ".join(f"{v:7.0f}" for v in med + wmed + smed) + " |")
                rows.append(row)
                print(row, flush=True)
        browser.close()
    print("\n| events | days/request | progress, cold | first numbers, cold | year, cold "
          "| progress, warm | first numbers, warm | year, warm "
          "| progress after pressing Year | first numbers after pressing Year |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
