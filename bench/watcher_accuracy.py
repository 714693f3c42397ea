"""Watcher accuracy and CPU: a long scripted X session against a real server.

    .venv/bin/python bench/watcher_accuracy.py                 # 30 minutes
    .venv/bin/python bench/watcher_accuracy.py --minutes 3     # quick look

Starts its own Xvfb (free display via -displayfd) + openbox, a server subprocess on a
free 127.0.0.1 port (`python -m aw_server`, or the test fake with `--server fake`),
and both watchers at 1 Hz polling, all with private dirs. It then focuses windows of
four apps on a seeded random schedule (segments of 3-60 s) and at the end compares,
per app, the active time the server recorded with the time the script held each app
focused (measured around every `xdotool windowactivate --sync`).

It reports per-app error (target ±1 %), and each watcher's CPU time divided by wall
time, as % of one core (target ≤ 1 %), read from /proc via psutil.
Needs: apt xvfb openbox xdotool xterm x11-utils; pip python-xlib psutil.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402

from tests.watchers.processes import WatcherProcess, watcher_env  # noqa: E402
from tests.watchers.scenario import Step, play, recorded_by, totals  # noqa: E402
from tests.watchers.servers import ServerProcess, aw_server_available  # noqa: E402
from tests.watchers.xsession import XSession, x_tools_missing  # noqa: E402

APPS = {"EditorApp": 3, "BrowserApp": 3, "ChatApp": 2, "TermApp": 2}  # class → windows


def schedule(minutes: float, seed: int) -> list[Step]:
    rng = random.Random(seed)
    windows = [f"{app}:{i}" for app, count in APPS.items() for i in range(count)]
    steps: list[Step] = []
    total = 0.0
    previous = ""
    while total < minutes * 60:
        window = rng.choice([w for w in windows if w != previous])
        seconds = float(rng.choice([3, 5, 8, 13, 20, 30, 45, 60]))
        steps.append(Step(window, seconds))
        total += seconds
        previous = window
    return steps


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--server", choices=["aw_server", "fake"],
                        default="aw_server" if aw_server_available() else "fake")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    missing = x_tools_missing()
    if missing:
        print(f"missing tools: {', '.join(missing)}", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="aw-watcher-bench-"))
    x = XSession(work).start()
    server = ServerProcess(args.server, work / "server").start()
    watchers: list[WatcherProcess] = []
    try:
        table = {"sentinel": x.open_xterm("sentinel", cls="Sentinel")}
        for app, count in APPS.items():
            for i in range(count):
                table[f"{app}:{i}"] = x.open_xterm(f"{app} window {i} — ✓", cls=app)
        x.activate(table["sentinel"])
        env = watcher_env(work / "aw", x.display)
        common = ["--testing", "--port", str(server.port), "--poll-time", "1"]
        window = WatcherProcess("window", common, env, work / "window.log").start()
        afk = WatcherProcess("afk", [*common, "--timeout", "600"], env, work / "afk.log").start()
        watchers = [window, afk]
        pids = {w.kind: w.proc.pid for w in watchers if w.proc is not None}
        cpu_start = {kind: cpu_seconds(pid) for kind, pid in pids.items()}
        wall_start = time.monotonic()
        steps = schedule(args.minutes, args.seed)
        print(f"playing {len(steps)} segments, {sum(s.seconds for s in steps) / 60:.1f} min, "
              f"server={args.server}, display={x.display}", flush=True)
        played = play(x, table, [*steps, Step("sentinel", 2.0)])
        wall = time.monotonic() - wall_start
        cpu = {kind: cpu_seconds(pid) - cpu_start[kind] for kind, pid in pids.items()}
        for w in watchers:
            # SIGTERM: the watcher flushes its cache and queue before it exits.
            if w.stop() != 0 or not w.saw("0 heartbeats left queued"):
                print(f"{w.kind} did not stop cleanly:\n{w.output()[-2000:]}", file=sys.stderr)
        events = server.events(f"aw-watcher-window_{socket.gethostname()}")
        script = totals((p.window.split(":")[0], p.seconds) for p in played[:-1])
        recorded = recorded_by(events, "app")
        results = {}
        print(f"\n{'app':<12}{'script s':>10}{'recorded s':>12}{'error':>9}")
        for app, seconds in sorted(script.items()):
            got = recorded.get(app, 0.0)
            error = (got - seconds) / seconds * 100
            results[app] = {"script": seconds, "recorded": got, "error_pct": error}
            print(f"{app:<12}{seconds:>10.2f}{got:>12.2f}{error:>+8.3f}%")
        cpu_pct = {kind: seconds / wall * 100 for kind, seconds in cpu.items()}
        print(f"\nwall {wall:.1f} s; CPU (% of one core): "
              + ", ".join(f"{k} {v:.3f} %" for k, v in cpu_pct.items()))
        worst = max(abs(r["error_pct"]) for r in results.values())
        print(f"worst per-app error {worst:.3f} % (target ±1 %)")
        if args.json:
            args.json.write_text(json.dumps({"apps": results, "cpu_pct": cpu_pct,
                                             "wall_s": wall, "server": args.server}, indent=2))
        return 0 if worst <= 1.0 and max(cpu_pct.values()) <= 1.0 else 1
    finally:
        for w in watchers:
            if w.running():
                w.kill9()
        server.stop()
        x.stop()


if __name__ == "__main__":
    sys.exit(main())
