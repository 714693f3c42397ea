"""Import benchmark: an ActivityWatch (aw-server peewee) database of N events and a JSON
export of M MB, imported by `aw-server import` (time and peak RSS of the process) and
by our server's `POST /api/0/import`, side by side with aw-server 0.12.0's own
`POST /api/0/import` of the same export (the two endpoints timed alike: from request to
answer, the server already running).

    .venv/bin/python bench/import_bench.py                 # 1M events, 100 MB, reference
    .venv/bin/python bench/import_bench.py --events 200000 --mb 20 --reference-mb 20

Targets (issue 9): >= 10x faster than the reference; a 100 MB export in <= 60 s with
<= 500 MiB peak RSS. The reference gets `--reference-timeout` seconds; if it has not
finished, its figure is reported as a lower bound. Ours runs `--runs` times before the
reference and as often after it (this machine's speed drifts within minutes); the
speed-ups use the median of those runs, and are also given against our slowest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _util import REPO_ROOT, RssSampler  # type: ignore[import-not-found]

from tests.support.reference import start_reference_server
from tests.support.servers import start_server_process

APPS = ["firefox", "code", "Terminal", "Slack", "Spotify", "Thunderbird", "évince", "日本語"]


def _event_rows(n: int, seed: int = 1) -> Iterator[tuple[int, str, float, str]]:
    """Window-watcher-like events: aw-server's stored timestamp text, seconds, data JSON."""
    rng = random.Random(seed)
    t = datetime(2019, 1, 1, tzinfo=UTC)
    for i in range(n):
        app = rng.choice(APPS)
        data = {"app": app, "title": f"{app} — document {rng.randrange(5000)} ✓"}
        duration = round(rng.expovariate(1 / 20), 3)
        yield i % 4, str(t), duration, json.dumps(data)
        t += timedelta(seconds=duration + rng.random())


def make_peewee_db(path: Path, events: int) -> None:
    """The tables aw-server 0.12.0 (aw-core 0.5.18) creates, filled directly."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bucketmodel (key INTEGER NOT NULL PRIMARY KEY, id VARCHAR(255) "
                 "NOT NULL, created DATETIME NOT NULL, name VARCHAR(255), type VARCHAR(255) "
                 "NOT NULL, client VARCHAR(255) NOT NULL, hostname VARCHAR(255) NOT NULL, "
                 "datastr VARCHAR(255))")
    conn.execute("CREATE TABLE eventmodel (id INTEGER NOT NULL PRIMARY KEY, bucket_id INTEGER "
                 "NOT NULL, timestamp DATETIME NOT NULL, duration DECIMAL(10, 5) NOT NULL, "
                 "datastr VARCHAR(255) NOT NULL, FOREIGN KEY (bucket_id) REFERENCES "
                 "bucketmodel (key))")
    conn.execute("CREATE INDEX eventmodel_bucket_id_timestamp ON eventmodel (bucket_id, "
                 "timestamp)")
    for key in range(4):
        conn.execute("INSERT INTO bucketmodel VALUES (?, ?, ?, NULL, 'currentwindow', "
                     "'aw-watcher-window', 'bench', '{}')",
                     (key + 1, f"aw-watcher-window_bench{key}", "2019-01-01 00:00:00+00:00"))
    conn.executemany("INSERT INTO eventmodel (bucket_id, timestamp, duration, datastr) "
                     "VALUES (?, ?, ?, ?)",
                     ((b + 1, ts, d, data) for b, ts, d, data in _event_rows(events)))
    conn.commit()
    conn.close()


def make_export(path: Path, megabytes: int) -> int:
    """Four buckets' events newest first, as ActivityWatch exports them."""
    target = megabytes * 1024 * 1024
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"buckets": {')
        rows = iter(_event_rows(10_000_000, seed=2))
        for b in range(4):
            bid = f"aw-watcher-window_export{b}"
            meta = {"id": bid, "created": "2019-01-01T00:00:00+00:00", "name": None,
                    "type": "currentwindow", "client": "aw-watcher-window", "hostname": "bench",
                    "data": {}}
            out.write(("" if b == 0 else ", ") + json.dumps(bid) + ": "
                      + json.dumps(meta)[:-1] + ', "events": [')
            events: list[str] = []
            size = out.tell()
            while size < target * (b + 1) / 4:
                _, ts, duration, data = next(rows)
                events.append(json.dumps({"timestamp": ts.replace(" ", "T"),
                                          "duration": duration, "data": json.loads(data)}))
                size += len(events[-1].encode()) + 2
            out.write(", ".join(reversed(events)))
            count += len(events)
            out.write("]}")
        out.write("}}")
    return count


def run_ours(source: Path, workdir: Path) -> tuple[float, int, str]:
    db = workdir / f"ours-{source.stem}.sqlite"
    env = dict(os.environ, AW_BASE_DIR=str(workdir / "dirs"))
    os.sync()  # the previous run's writes are flushed before, not during, this one
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "aw_server", "import", str(source),
                             "--dbpath", str(db)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT)
    sampler = RssSampler(proc.pid).start()
    out, _ = proc.communicate()
    elapsed = time.monotonic() - started
    peak = sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"our import failed: {out}")
    return elapsed, peak, out.splitlines()[0]


def _post_import(url: str, pid: int, export: Path, timeout: float) -> tuple[float, int, bool]:
    """`POST /api/0/import` of the export to a running server: seconds until it answers,
    the server's peak RSS meanwhile, and whether it finished within `timeout`."""
    import requests

    sampler = RssSampler(pid).start()
    os.sync()
    started = time.monotonic()
    finished = True
    try:
        with open(export, "rb") as body:
            response = requests.post(f"{url}/api/0/import", data=body,
                                     headers={"Content-Type": "application/json"},
                                     timeout=timeout)
        response.raise_for_status()
    except requests.Timeout:
        finished = False
    elapsed = time.monotonic() - started
    return elapsed, sampler.stop(), finished


def run_reference(export: Path, workdir: Path, timeout: float) -> tuple[float, int, bool]:
    server = start_reference_server(workdir / "reference")
    try:
        return _post_import(server.url, server.pid, export, timeout)
    finally:
        server.stop()


def run_ours_http(export: Path, workdir: Path) -> tuple[float, int]:
    """Our server's `POST /api/0/import`, timed exactly as the reference's."""
    server = start_server_process(workdir)
    try:
        assert server.proc is not None
        secs, peak, _ = _post_import(server.url, server.proc.pid, export, 1800)
        return secs, peak
    finally:
        server.stop()


def _runs(label: str, times: list[float]) -> str:
    return f"{label}: " + ", ".join(f"{t:.1f}" for t in times) + " s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--reference-mb", type=int, default=None,
                        help="size of the export given to the reference (default: --mb)")
    parser.add_argument("--reference-timeout", type=float, default=1800)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of ours on each side of the reference (median used)")
    args = parser.parse_args()
    mib = 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="aw-import-bench-") as tmp:
        work = Path(tmp)
        db = work / "peewee-sqlite.v2.db"
        make_peewee_db(db, args.events)
        secs, peak, line = run_ours(db, work)
        print(f"ours  peewee db {args.events:>9,} events: {secs:7.1f} s  peak RSS "
              f"{peak / mib:6.0f} MiB  ({args.events / secs:,.0f} events/s)  [{line}]")
        export = work / "export.json"
        n = make_export(export, args.mb)
        cli: list[float] = []
        http: list[float] = []
        peaks: list[int] = []
        http_peaks: list[int] = []

        def run_both(side: str) -> None:
            """`--runs` imports by the command and by the endpoint, each into a new
            database."""
            for i in range(args.runs):
                folder = work / f"{side}-{i}"
                folder.mkdir()
                secs, peak, _ = run_ours(export, folder)
                cli.append(secs)
                peaks.append(peak)
                secs, peak = run_ours_http(export, folder / "http")
                http.append(secs)
                http_peaks.append(peak)

        run_both("before")
        print(f"ours  JSON export {args.mb:>4} MB ({n:,} events), `aw-server import`: "
              f"median {statistics.median(cli):.1f} s  peak RSS {max(peaks) / mib:.0f} MiB  "
              f"({_runs('runs', cli)})")
        print(f"ours  /api/0/import {args.mb} MB: median {statistics.median(http):.1f} s  "
              f"peak RSS {max(http_peaks) / mib:.0f} MiB  ({_runs('runs', http)})")
        if args.no_reference:
            return
        ref_mb = args.reference_mb or args.mb
        ref_export = export
        if ref_mb != args.mb:
            ref_export = work / "export-ref.json"
            make_export(ref_export, ref_mb)
        secs_ref, peak_ref, finished = run_reference(ref_export, work, args.reference_timeout)
        bound = "" if finished else " (did not finish: lower bound)"
        print(f"aw-server 0.12.0 /api/0/import {ref_mb} MB: {secs_ref:7.1f} s{bound}  peak RSS "
              f"{peak_ref / mib:6.0f} MiB")
        # This machine's speed drifts by up to 2x within minutes, and one short run can
        # fall into a slow spell that the reference's long run averages out: ours runs
        # as often again after the reference, and the ratios use the median of all.
        run_both("after")
        print(_runs("ours  `aw-server import`, after the reference", cli[args.runs:]))
        print(_runs("ours  /api/0/import, after the reference", http[args.runs:]))
        scaled = secs_ref * args.mb / ref_mb
        scaled_note = "" if ref_mb == args.mb else f"; reference time scaled from {ref_mb} MB"
        for what, times in (("`aw-server import`", cli), ("endpoint to endpoint", http)):
            mid = statistics.median(times)
            print(f"speed-up, {what}: {scaled / mid:.1f}x (ours: median {mid:.1f} s of "
                  f"{len(times)} runs around the reference; {scaled / max(times):.1f}x "
                  f"against our slowest run){scaled_note}")


if __name__ == "__main__":
    main()
