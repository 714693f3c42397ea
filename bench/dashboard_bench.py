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

    .venv/bin/python bench/dashboard_bench.py --devices 3 --sizes 3000000 --runs 1

`--devices 3`: the size is the total over three devices (a third each, seeds 42-44, two
of them with datagen's hostname and the same bucket ids, one called "desktop"). Each
device's data goes into a datastore of its own, then the real in-process sync session
copies the other two into the first one's database as `-synced-from-` mirrors, exactly
as sync writes them. Each range is measured on "All devices" (`devices=all`: one query
per day for the three) and on this device alone (`devices=<its id>`).
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


def build_db(path: Path, events: int, days: int = DAYS) -> None:
    """datagen's data over `days` from 2024-01-01 with `events` window events, inserted in
    bulk (a marker file beside it says it is complete, so a later run reuses it)."""
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
    for bucket_id, event in datagen.generate(seed=42, days=days, window_events=events):
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


def build_device(path: Path, events: int, seed: int, hostname: str) -> Datastore:
    """One device's own datagen data, with its own bucket ids when renamed."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rename = {datagen.WINDOW_BUCKET: f"aw-watcher-window_{hostname}",
              datagen.AFK_BUCKET: f"aw-watcher-afk_{hostname}"}
    store = Datastore(path)
    for bucket_id, type_ in ((datagen.WINDOW_BUCKET, "currentwindow"),
                             (datagen.AFK_BUCKET, "afkstatus")):
        store.buckets.create(Bucket(rename[bucket_id], type_, "bench", hostname,
                                    "2024-01-01T00:00:00+00:00"))
    batch: dict[str, list[Any]] = {}
    for bucket_id, event in datagen.generate(seed=seed, days=DAYS, window_events=events):
        chunk = batch.setdefault(rename[bucket_id], [])
        chunk.append(event)
        if len(chunk) >= 20_000:
            store.events.insert(rename[bucket_id], chunk)
            chunk.clear()
    for bucket_id, chunk in batch.items():
        if chunk:
            store.events.insert(bucket_id, chunk)
    return store


def build_devices_db(path: Path, events: int) -> str:
    """Three devices, `events` window events in total; the other two synced into the
    first one's database by the real sync session. Returns the first one's device id."""
    from aw_server.sync.local import LocalAccess
    from aw_server.sync.session import run_session

    done = path.with_name(path.name + ".complete")
    if not done.exists():
        began = time.perf_counter()
        specs = [(42, datagen.HOSTNAME), (43, datagen.HOSTNAME), (44, "desktop")]
        stores = [build_device(path if i == 0 else path.with_name(f"{path.stem}-peer{i}.db"),
                               events // 3, seed, host) for i, (seed, host) in enumerate(specs)]
        built = time.perf_counter()
        for peer in stores[1:]:
            run_session(LocalAccess(stores[0]), LocalAccess(peer))
        for store in stores:
            store.close()
        done.write_text(Datastore(path).device_id)
        print(f"built {path.name}: {events:,} window events on 3 devices in "
              f"{built - began:.0f} s, synced in {time.perf_counter() - built:.0f} s", flush=True)
    return done.read_text().strip()


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


def run_cell(browser: Any, db: Path, chosen: str, query: str,
             args: argparse.Namespace) -> list[list[float]]:
    """[cold first paint, cold complete, warm first paint, warm complete] over --runs."""
    cells: list[list[float]] = [[], [], [], []]
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as root:
            server = start_our_server(Path(root), db_path=db)
            try:
                base = f"{server.url}/#/activity?{chosen}"
                if not args.fresh:
                    # A server that has been up a while: code loaded, regexes compiled,
                    # but nothing of the measured range cached.
                    measure(browser, f"{base}&range=day&date=2024-02-01", args.timeout)
                url = f"{base}&{query}"
                cold = measure(browser, url, args.timeout)
                warm = measure(browser, url, args.timeout)
                for cell, value in zip(cells, (*cold, *warm), strict=True):
                    cell.append(value)
            finally:
                server.stop()
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per cell (median)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "aw-dashboard-bench")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--devices", type=int, choices=(1, 3), default=1,
                        help="3: the three-device fixture, All devices vs one device")
    parser.add_argument("--fresh", action="store_true",
                        help="measure on a just-started server (no warm-up visit)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for size in args.sizes:
            if args.devices == 3:
                db = args.cache / f"dashboard-3dev-{size}-{DAYS}d.db"
                this_id = build_devices_db(db, size)
                views = {"all devices": "devices=all", "one device": f"devices={this_id}"}
            else:
                db = args.cache / f"dashboard-{size}-{DAYS}d.db"
                build_db(db, size)
                views = {"": f"host={datagen.HOSTNAME}"}
            for name, query in RANGES.items():
                for label, chosen in views.items():
                    cells = run_cell(browser, db, chosen, query, args)
                    row = (f"| {size:>9,} | {name:<5}{f' | {label}' if label else ''} | "
                           + " | ".join(f"{statistics.median(c):7.0f}" for c in cells) + " |")
                    rows.append(row)
                    print(row, flush=True)
        browser.close()
    devices_col = " devices |" if args.devices == 3 else ""
    print(f"\n| events | range |{devices_col} first paint, cold (ms) | all days, cold (ms) "
          "| first paint, warm (ms) | all days, warm (ms) |")
    print(f"|---:|---|{'---|' if devices_col else ''}---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
