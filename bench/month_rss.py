"""Server RSS over a simulated month of 1 Hz heartbeats, in fast-forward.

    .venv/bin/python bench/month_rss.py                  # 30 days, sampled, ours + reference
    .venv/bin/python bench/month_rss.py --quick          # 3 days, well under a minute for ours
    .venv/bin/python bench/month_rss.py --full-rate --days 7 --side ours   # every second

The server lives in the tray for weeks; a cache keyed by something that grows, a leak per
request or an unbounded SQLite page cache would only show after days. Real time is too
slow to wait for, so timestamps advance one simulated second per heartbeat while requests
go out as fast as one client can send them.

What one simulated day looks like: ``--active-hours`` (8) of desktop use with two
watchers, window and AFK, each sending a heartbeat every simulated second with
``pulsetime=2`` (as aw-watcher-window does). Window titles change after a random 5 s to
2 min and AFK status after 5 to 60 min, so nearly every heartbeat *merges* into the
previous event, as in real use. A month of that is 30 x 8 x 3600 x 2 = 1.7M requests,
too many for a routine run, so by default each 10-minute stretch of active time is
*sampled*: its first minute is sent at 1 Hz, then the clock jumps 9 minutes (a gap, so
the next beat starts a new event, as after a real pause). ``--full-rate`` sends every
second instead. Either way the request mix (mostly merges, some inserts, growing
buckets) is the real one; only the count is scaled.

RSS (psutil, server PID and children) is read every ``--every`` heartbeats. Reported:
RSS after warm-up (the first sample), max, final, and the least-squares slope over the
second half of the samples in MiB per 100k heartbeats. The bound checked for ours:

* max RSS <= RSS after warm-up + ``--max-growth-mib`` (default 64 MiB), and
* second-half slope <= ``--max-slope`` (default 2 MiB per 100k heartbeats, i.e. less
  than ~35 MiB over a real month's 1.7M requests).

Exit status 1 if ours exceeds the bound or a heartbeat fails. Every loop is bounded by
a count and every request by a timeout; servers run on free loopback ports with temp
data dirs and are stopped by PID.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import BenchServer, RssSampler, dir_size, start_our_server
from server_bench import JSON_HEADERS, PULSETIME, create_bucket

from tests.support.reference import ReferenceToolError, start_reference_server

REQUEST_TIMEOUT_S = 30.0
MIB = 1024.0 * 1024.0
WINDOW = "aw-watcher-window_monthhost"
AFK = "aw-watcher-afk_monthhost"
T0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
APPS = ["firefox", "code", "Alacritty", "Slack", "thunderbird", "Spotify", "zoom",
        "libreoffice", "Discord", "evince"]


@dataclass(frozen=True)
class MonthParams:
    """Shape of the simulated month (see the module docstring)."""

    days: int = 30
    active_hours: int = 8
    sample_s: int = 60  # seconds sent of every ``slot_s``; == slot_s means full rate
    slot_s: int = 600
    every: int = 2000  # RSS sample every this many heartbeats
    seed: int = 7

    @property
    def heartbeats(self) -> int:
        """Total requests: two watchers, one beat per sent simulated second each."""
        slots = self.days * self.active_hours * 3600 // self.slot_s
        return 2 * slots * self.sample_s


FULL = MonthParams()
QUICK = MonthParams(days=3, every=1000)


@dataclass
class MonthResult:
    """RSS samples of one server over the month."""

    heartbeats_sent: int = 0
    samples: list[tuple[int, float]] = field(default_factory=list)  # (beats, MiB)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    data_mib: float = 0.0
    events: int = 0

    @property
    def warm_mib(self) -> float:
        """RSS at the first sample, after ``every`` heartbeats (code and caches loaded)."""
        return self.samples[0][1] if self.samples else float("nan")

    @property
    def max_mib(self) -> float:
        """Highest sampled RSS."""
        return max((m for _, m in self.samples), default=float("nan"))

    @property
    def final_mib(self) -> float:
        """RSS after the last heartbeat."""
        return self.samples[-1][1] if self.samples else float("nan")

    def slope(self) -> float:
        """Least-squares MiB per 100k heartbeats over the second half of the samples.

        The second half skips warm-up growth (SQLite page cache filling, allocator
        arenas), so what remains is growth that would continue for the whole month.
        """
        half = self.samples[len(self.samples) // 2:]
        if len(half) < 2:
            return float("nan")
        xs = [b / 100_000 for b, _ in half]
        ys = [m for _, m in half]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mean_x) ** 2 for x in xs)
        if var == 0:
            return float("nan")
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def beats(params: MonthParams) -> Iterator[tuple[str, bytes]]:
    """(bucket, body) in send order: window then AFK beat for each sent simulated second."""
    rng = random.Random(params.seed)
    titles = [f"{app} - document {n}" for app in APPS for n in range(20)]
    window = {"app": "code", "title": titles[0]}
    afk = {"status": "not-afk"}
    next_window_change = next_afk_change = 0
    sim = 0  # simulated seconds since T0 on the active-time clock
    for day in range(params.days):
        day_start = T0 + timedelta(days=day)
        for second in range(params.active_hours * 3600):
            if second % params.slot_s >= params.sample_s:
                continue  # skipped part of the slot: the clock jumps, nothing is sent
            if sim >= next_window_change:
                title = rng.choice(titles)
                window = {"app": title.split(" - ")[0], "title": title}
                next_window_change = sim + rng.randint(5, 120)
            if sim >= next_afk_change:
                afk = {"status": "not-afk" if afk["status"] == "afk" else "afk"}
                next_afk_change = sim + rng.randint(300, 3600)
            stamp = (day_start + timedelta(seconds=second)).isoformat()
            yield WINDOW, json.dumps({"timestamp": stamp, "duration": 0, "data": window}).encode()
            yield AFK, json.dumps({"timestamp": stamp, "duration": 0, "data": afk}).encode()
            sim += 1


def run_month(server: BenchServer, params: MonthParams, *, progress: bool = False) -> MonthResult:
    """Send the simulated month to a running server, sampling its RSS."""
    result = MonthResult()
    sampler = RssSampler(server.pid)
    began = time.perf_counter()
    endpoints = {
        b: f"{server.url}/api/0/buckets/{b}/heartbeat?pulsetime={PULSETIME}" for b in (WINDOW, AFK)
    }
    total = params.heartbeats
    report_every = max(params.every, total // 10)
    with requests.Session() as session:
        session.headers.update(JSON_HEADERS)
        create_bucket(session, server.url, WINDOW)
        create_bucket(session, server.url, AFK)
        for sent, (bucket, body) in enumerate(beats(params), start=1):
            try:
                resp = session.post(endpoints[bucket], data=body, timeout=REQUEST_TIMEOUT_S)
            except requests.RequestException as exc:
                result.errors.append(f"heartbeat {sent}: {exc!r}")
                break
            if resp.status_code != 200:
                result.errors.append(f"heartbeat {sent}: HTTP {resp.status_code}: "
                                     f"{resp.text[:200]!r}")
                break
            result.heartbeats_sent = sent
            if sent % params.every == 0 or sent == total:
                result.samples.append((sent, sampler.current() / MIB))
                if progress and sent % report_every == 0:
                    print(f"  {sent:>9,} / {total:,} heartbeats, RSS "
                          f"{result.samples[-1][1]:.1f} MiB", flush=True)
        for bucket in (WINDOW, AFK):
            resp = session.get(f"{server.url}/api/0/buckets/{bucket}/events/count",
                               timeout=REQUEST_TIMEOUT_S)
            if resp.status_code == 200:
                result.events += int(resp.json())
    result.wall_s = time.perf_counter() - began
    result.data_mib = dir_size(server.data_dir) / MIB
    return result


def run_side(side: str, root: Path, params: MonthParams, *, progress: bool = False) -> MonthResult:
    """Start ``side`` ("ours" or "reference") in ``root``, run the month, stop it by PID."""
    server: BenchServer = (
        start_reference_server(root / side) if side == "reference"
        else start_our_server(root / side)
    )
    try:
        return run_month(server, params, progress=progress)
    finally:
        server.stop()


def within_bound(result: MonthResult, max_growth_mib: float, max_slope: float) -> bool:
    """The bound stated in the module docstring (``nan`` slope counts as within)."""
    slope = result.slope()
    slope_ok = math.isnan(slope) or slope <= max_slope  # nan: too few samples to tell
    return result.max_mib <= result.warm_mib + max_growth_mib and slope_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 simulated days")
    parser.add_argument("--days", type=int, help="simulated days (default 30)")
    parser.add_argument("--active-hours", type=int, help="hours of use per day (default 8)")
    parser.add_argument("--full-rate", action="store_true",
                        help="send every simulated second (no 1-in-10-minutes sampling)")
    parser.add_argument("--every", type=int, help="RSS sample every N heartbeats")
    parser.add_argument("--side", choices=["ours", "reference", "both"], default="both")
    parser.add_argument("--max-growth-mib", type=float, default=64.0)
    parser.add_argument("--max-slope", type=float, default=2.0,
                        help="MiB per 100k heartbeats over the second half")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    changes: dict[str, int] = {}
    if args.days:
        changes["days"] = args.days
    if args.active_hours:
        changes["active_hours"] = args.active_hours
    if args.every:
        changes["every"] = args.every
    if args.full_rate:
        changes["sample_s"] = params.slot_s
    params = MonthParams(**{**params.__dict__, **changes})
    if not (1 <= params.days <= 366 and 1 <= params.active_hours <= 24 and params.every >= 1):
        parser.error("--days 1..366, --active-hours 1..24, --every >= 1")
    print(f"{params.days} simulated days x {params.active_hours} h, "
          f"{params.sample_s} s sent of every {params.slot_s} s: "
          f"{params.heartbeats:,} heartbeats per server", flush=True)
    sides = ["reference", "ours"] if args.side == "both" else [args.side]
    results: dict[str, MonthResult] = {}
    status = 0
    tmp = Path(tempfile.mkdtemp(prefix="aw-month-rss-"))
    try:
        for side in sides:
            print(f"{side}:", flush=True)
            try:
                results[side] = run_side(side, tmp, params, progress=True)
            except (ReferenceToolError, RuntimeError, requests.RequestException) as exc:
                print(f"  NOT RUN: {exc}")
                status = 1 if side == "ours" else status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n| server | heartbeats | events | wall s | RSS warm MiB | RSS max MiB | "
          "RSS final MiB | slope MiB/100k | data MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for side, r in results.items():
        print(f"| {side} | {r.heartbeats_sent:,} | {r.events:,} | {r.wall_s:.0f} | "
              f"{r.warm_mib:.1f} | {r.max_mib:.1f} | {r.final_mib:.1f} | {r.slope():+.2f} | "
              f"{r.data_mib:.1f} |")
        for err in r.errors:
            print(f"- {side}: {err}")
        if r.errors and side == "ours":
            status = 1
    ours = results.get("ours")
    if ours is not None:
        ok = within_bound(ours, args.max_growth_mib, args.max_slope)
        print(f"\nbound (ours): max <= warm + {args.max_growth_mib:g} MiB and slope <= "
              f"{args.max_slope:g} MiB/100k heartbeats: {'PASS' if ok else 'FAIL'}")
        status = status or (0 if ok else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
