"""Sync benchmark (docs/sync.md "Measurable targets" T1-T4, T6): real server processes.

    .venv/bin/python bench/sync_bench.py                 # 1M-event history (several minutes)
    .venv/bin/python bench/sync_bench.py --events 100000 # smoke size
    .venv/bin/python bench/sync_bench.py --json out.json

Steps, one at a time (2 shared cores):
1. History: N events over 4 buckets (60-200 B of data each) written into A's database
   through the datastore, before A starts; a second, 10k-event device A' for the
   history-independence check.
2. First sync: B pulls everything from A (`POST /api/0/sync/now {wait}` on B). Wall time,
   bytes both ways, extra peak RSS of A and B (VmHWM minus VmRSS before the sync).
3. "One hour": 3600 window heartbeats at 1 Hz (title changes every 30 s, ~120 events)
   and 3600 AFK heartbeats (2 events) into A; then B syncs. Median of --runs.
4. No-op: B syncs again with nothing new. Median of --runs.
5. Independence: the same hour on A' (10k history) synced to B'; bytes compared.
6. Heartbeat latency p50 over HTTP on a paired server holding the 1M mirror (B) vs a
   fresh unpaired one (noisy on shared cores), and T6 in process: `Datastore.events.heartbeat`
   p50 with change tracking as built vs the same code with the seq indexes dropped and a
   constant seq (what the store would cost without change tracking), 1M-row table.
Bytes are counted by the syncing client: sealed bodies plus header lines, both ways.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from aw_server.datastore.store import Datastore  # noqa: E402
from aw_server.models import Bucket, Event  # noqa: E402
from tests.aw_server.sync.devices import Device  # noqa: E402

S = 1_000_000
BUCKETS = ["aw-watcher-window_bench", "aw-watcher-afk_bench", "aw-watcher-web-firefox",
           "aw-watcher-vim"]
WORDS = ["editor", "terminal", "browser", "mail", "chat", "music", "docs", "review",
         "meeting", "notes", "build", "deploy"]


def fill_history(path: Path, events: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    store = Datastore(path)
    try:
        for bucket_id in BUCKETS:
            store.buckets.create(Bucket(bucket_id, "currentwindow", "bench", "benchhost",
                                       "2020-01-01T00:00:00+00:00"))
        start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) * S
        chunk = 10_000
        for done in range(0, events, chunk):
            batch: dict[str, list[Event]] = {b: [] for b in BUCKETS}
            for i in range(done, min(events, done + chunk)):
                title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 24)))
                data = {"app": rng.choice(WORDS), "title": title[: rng.randint(40, 180)]}
                batch[BUCKETS[i % 4]].append(Event(start + i * 10 * S, 9 * S, data))
            for bucket_id, items in batch.items():
                store.events.insert(bucket_id, items)
    finally:
        store.close()


def vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def pid(device: Device) -> int:
    assert device.proc.proc is not None
    return device.proc.proc.pid


def sync_now(puller: Device, other: Device) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    response = puller.http.post("/api/0/sync/now",
                                json={"device_id": other.device_id, "wait": True},
                                timeout=3600)
    wall = time.perf_counter() - t0
    result = response.json()["results"][other.device_id]
    assert "error" not in result, result
    return wall, result


def one_hour(device: Device, hour: int) -> None:
    """3600 window beats (title changes every 30 s) and 3600 AFK beats, 1 Hz."""
    base = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
    for bucket in ("hour-window", "hour-afk"):
        device.http.post(f"/api/0/buckets/{bucket}", json={
            "client": "bench", "type": "currentwindow", "hostname": "benchhost"})
    http = device.http
    for second in range(3600):
        ts = (base + timedelta(seconds=second)).isoformat()
        http.post("/api/0/buckets/hour-window/heartbeat?pulsetime=2", json={
            "timestamp": ts, "duration": 0,
            "data": {"app": "editor", "title": f"file {second // 30}.py"}})
        http.post("/api/0/buckets/hour-afk/heartbeat?pulsetime=2", json={
            "timestamp": ts, "duration": 0,
            "data": {"status": "not-afk" if second < 1800 else "afk"}})


def heartbeat_p50(device: Device, n: int = 400) -> float:
    device.http.post("/api/0/buckets/lat", json={
        "client": "bench", "type": "x", "hostname": "benchhost"})
    base = datetime(2031, 1, 1, tzinfo=UTC)
    times = []
    for i in range(n):
        body = {"timestamp": (base + timedelta(seconds=i)).isoformat(), "duration": 0,
                "data": {"title": f"t{i // 3}"}}
        t0 = time.perf_counter()
        device.http.post("/api/0/buckets/lat/heartbeat?pulsetime=2", json=body)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def t6_in_process(base: Path, rows: int, beats: int = 4000) -> dict[str, float]:
    """Heartbeat p50 through the real datastore, with and without seq bookkeeping."""
    out = {}
    for variant in ("tracked", "untracked"):
        path = base / f"t6-{variant}.sqlite"
        fill_history(path, rows)
        store = Datastore(path)
        try:
            if variant == "untracked":
                with store.db.write() as conn:
                    for index in ("event_changes", "bucket_changes", "tombstone_changes"):
                        conn.execute(f"DROP INDEX {index}")
                store.db.next_seq = lambda: 0  # type: ignore[method-assign]
            store.buckets.create(Bucket("t6", "x", "bench", "h", "2020-01-01T00:00:00+00:00"))
            start = int(datetime(2032, 1, 1, tzinfo=UTC).timestamp()) * S
            times = []
            for i in range(beats):
                beat = Event(start + i * S, 0, {"title": f"t{i // 30}"})
                t0 = time.perf_counter()
                store.events.heartbeat("t6", beat, 2 * S)
                times.append(time.perf_counter() - t0)
            out[variant] = statistics.median(times) * 1e6
        finally:
            store.close()
    return {"tracked_us": round(out["tracked"], 1), "untracked_us": round(out["untracked"], 1),
            "overhead_pct": round((out["tracked"] / out["untracked"] - 1) * 100, 1)}


def wire(result: dict[str, Any]) -> int:
    return int(result["bytes_sent"] + result["bytes_received"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--t6-only", action="store_true",
                        help="only the in-process heartbeat cost of change tracking")
    args = parser.parse_args()
    out: dict[str, Any] = {"events": args.events}
    if args.t6_only:
        with tempfile.TemporaryDirectory(prefix="syncbench") as tmp:
            out["t6_heartbeat"] = t6_in_process(Path(tmp), args.events)
        print(json.dumps(out, indent=2))
        return 0
    with tempfile.TemporaryDirectory(prefix="syncbench") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        for name, count in (("a", args.events), ("s", args.small)):
            (base / name).mkdir()
            fill_history(base / name / "server.sqlite", count)
        print(f"history written in {time.perf_counter() - t0:.1f} s", flush=True)
        devices = {n: Device.start(base, n) for n in ("a", "b", "s", "t")}
        try:
            a, b, small, t = (devices[n] for n in ("a", "b", "s", "t"))
            b.pair_with(a)
            t.pair_with(small)
            rss_before = {n: vm(pid(devices[n]), "VmRSS") for n in ("a", "b")}
            wall, result = sync_now(b, a)
            extra = {n: (vm(pid(devices[n]), "VmHWM") - rss_before[n]) / 2**20
                     for n in ("a", "b")}
            size_a = a.dbpath.stat().st_size
            size_b = b.dbpath.stat().st_size
            out["first_sync"] = {"seconds": round(wall, 2), "items": result["pulled_items"],
                                 "batches": result["pulled_batches"],
                                 "wire_mib": round(wire(result) / 2**20, 1),
                                 "extra_rss_mib": {k: round(v, 1) for k, v in extra.items()},
                                 "db_ratio": round(size_b / size_a, 2)}
            print("first sync:", out["first_sync"], flush=True)
            sync_now(t, small)

            incr, incr_small, noop = [], [], []
            for run in range(args.runs):
                one_hour(a, run)
                one_hour(small, run)
                wall, result = sync_now(b, a)
                incr.append((wall, wire(result), result["pulled_items"]))
                _, result_small = sync_now(t, small)
                incr_small.append(wire(result_small))
                wall, result = sync_now(b, a)
                noop.append((wall, wire(result), result["pulled_batches"]))
            out["incremental"] = {
                "ms_median": round(statistics.median(w for w, _, _ in incr) * 1000, 1),
                "bytes_median": statistics.median(n for _, n, _ in incr),
                "changed_rows": [i for _, _, i in incr],
                "bytes_10k_history_median": statistics.median(incr_small)}
            big, small_bytes = out["incremental"]["bytes_median"], \
                out["incremental"]["bytes_10k_history_median"]
            out["incremental"]["history_difference_pct"] = round(
                abs(big - small_bytes) / small_bytes * 100, 2)
            out["noop"] = {"ms_median": round(statistics.median(w for w, _, _ in noop) * 1000, 1),
                           "bytes_median": statistics.median(n for _, n, _ in noop),
                           "batches": [n for _, _, n in noop]}
            print("incremental:", out["incremental"], flush=True)
            print("no-op:", out["noop"], flush=True)
            fresh = Device.start(base, "fresh")
            devices["fresh"] = fresh
            p50_fresh = heartbeat_p50(fresh)
            p50_paired = heartbeat_p50(b)
            out["heartbeat_p50_ms"] = {"fresh_unpaired": round(p50_fresh, 2),
                                       "paired_with_mirror": round(p50_paired, 2),
                                       "overhead_pct": round((p50_paired / p50_fresh - 1) * 100,
                                                             1)}
            print("heartbeat:", out["heartbeat_p50_ms"], flush=True)
        finally:
            for device in devices.values():
                device.stop()
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
