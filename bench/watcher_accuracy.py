"""Watcher accuracy, CPU and memory: a long scripted desktop session against a real server.

    .venv/bin/python bench/watcher_accuracy.py --backend sway        # 10 minutes
    .venv/bin/python bench/watcher_accuracy.py --backend x11 --minutes 2   # smoke run

`--backend` picks the desktop, started headless with private dirs and torn down after:
  x11    Xvfb (free display via -displayfd) + openbox, xterm windows
  sway   headless sway; foot windows, and xterms through Xwayland for the "Term" app;
         the watchers run as the desktop user, as on a real desktop
  gnome  headless gnome-shell (see tests/watchers/wayland/gnome.py)
  kwin   kwin_wayland --virtual (see tests/watchers/wayland/kwin.py)
Each desktop is an adapter (`BenchDesktop` below) found through DESKTOPS.

Both watchers run at 1 Hz against our server (`python -m aw_server`, or the test fake
with `--server fake`) on a free 127.0.0.1 port. The script focuses windows of four apps
on a seeded random schedule (segments of 3-60 s, timed around each focus command that
returns once it took effect), then compares, per app, the time the server recorded
with the time the script held that app's windows focused. Apps are told apart by
window title, which every desktop reports unchanged, so the comparison does not
depend on how a desktop names apps (the app names recorded are listed too).

Reported: per-app error (target ±1 %); each watcher's CPU time divided by wall time, as
% of one core (target ≤ 1 %), and its largest RSS, sampled every 5 s (target ≤ 40 MiB),
both read from /proc via psutil. Exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402

from tests.watchers.processes import WatcherProcess, watcher_env  # noqa: E402
from tests.watchers.scenario import Step, play, totals  # noqa: E402
from tests.watchers.servers import ServerProcess  # noqa: E402
from tests.watchers.xsession import XSession, x_tools_missing  # noqa: E402

APPS = {"EditorApp": 3, "BrowserApp": 3, "ChatApp": 2, "TermApp": 2}  # app -> windows
SENTINEL = ("SentinelApp", "sentinel")
TARGET_ERROR_PCT = 1.0
TARGET_CPU_PCT = 1.0
TARGET_RSS_MIB = 40.0
SAMPLE_S = 5.0


class BenchDesktop(Protocol):
    """What the bench needs from a desktop; `start(workdir)` is a classmethod making one."""

    description: str

    def open_window(self, app: str, title: str) -> Any:
        """Open a window of `app` titled `title`; a handle for `activate`."""

    def activate(self, window: Any) -> None:
        """Focus it, returning once the desktop has done so."""

    def watcher(self, kind: str, args: list[str], log: Path) -> WatcherProcess:
        """A watcher process (not started) that runs inside this desktop."""

    def stop(self) -> None: ...


class X11BenchDesktop:
    """Xvfb + openbox; each window an xterm whose X class is its app."""

    def __init__(self, x: XSession, workdir: Path) -> None:
        self.x = x
        self.workdir = workdir
        self.description = f"Xvfb {x.display} + openbox"

    @classmethod
    def start(cls, workdir: Path) -> X11BenchDesktop:
        missing = x_tools_missing()
        if missing:
            raise RuntimeError(f"missing tools: {', '.join(missing)}")
        return cls(XSession(workdir / "x").start(), workdir)

    def open_window(self, app: str, title: str) -> int:
        return self.x.open_xterm(title, cls=app)

    def activate(self, window: int) -> None:
        self.x.activate(window)

    def watcher(self, kind: str, args: list[str], log: Path) -> WatcherProcess:
        return WatcherProcess(kind, args, watcher_env(self.workdir / "aw", self.x.display), log)

    def stop(self) -> None:
        self.x.stop()


DESKTOPS = {  # --backend -> (module, class) of its BenchDesktop
    "x11": (__name__, "X11BenchDesktop"),
    "sway": ("tests.watchers.wayland.sway", "SwayBenchDesktop"),
    "gnome": ("tests.watchers.wayland.gnome", "GnomeBenchDesktop"),
    "kwin": ("tests.watchers.wayland.kwin", "KWinBenchDesktop"),
}


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


def title_of(window: str) -> str:
    app, index = window.split(":")
    return f"{app} window {index} — ✓"


class Usage:
    """CPU seconds and the largest RSS of some processes, sampled in the background."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.cpu_start = {name: self._cpu(p) for name, p in self.procs.items()}
        self.rss_max = dict.fromkeys(self.procs, 0.0)
        self.wall_start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def _sample(self) -> None:
        while True:
            for name, proc in self.procs.items():
                self.rss_max[name] = max(self.rss_max[name], proc.memory_info().rss / 2**20)
            if self._stop.wait(SAMPLE_S):
                return

    def finish(self) -> tuple[float, dict[str, float], dict[str, float]]:
        """(wall s, CPU % of one core, largest RSS MiB) per process."""
        wall = time.monotonic() - self.wall_start
        cpu = {name: (self._cpu(p) - self.cpu_start[name]) / wall * 100
               for name, p in self.procs.items()}
        self._stop.set()
        self._thread.join()
        return wall, cpu, self.rss_max


def open_desktop(backend: str, workdir: Path) -> BenchDesktop:
    module_name, class_name = DESKTOPS[backend]
    try:
        desktop_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"--backend {backend}: no bench adapter yet ({exc})") from exc
    desktop: BenchDesktop = desktop_class.start(workdir)
    return desktop


def report(script: dict[str, float], recorded: dict[str, float],
           apps_seen: dict[str, set[str]]) -> dict[str, dict[str, float]]:
    results = {}
    print(f"\n{'app':<12}{'script s':>10}{'recorded s':>12}{'error':>9}   recorded as")
    for app, seconds in sorted(script.items()):
        got = recorded.get(app, 0.0)
        error = (got - seconds) / seconds * 100
        results[app] = {"script": seconds, "recorded": got, "error_pct": error}
        names = ", ".join(sorted(apps_seen.get(app, set())))
        print(f"{app:<12}{seconds:>10.2f}{got:>12.2f}{error:>+8.3f}%   {names}")
    return results


def run(args: argparse.Namespace, work: Path) -> int:
    desktop = open_desktop(args.backend, work)
    server = ServerProcess(args.server, work / "server").start()
    watchers: list[WatcherProcess] = []
    try:
        table = {"sentinel": desktop.open_window(*SENTINEL)}
        for app, count in APPS.items():
            for i in range(count):
                table[f"{app}:{i}"] = desktop.open_window(app, title_of(f"{app}:{i}"))
        desktop.activate(table["sentinel"])
        common = ["--testing", "--port", str(server.port), "--poll-time", "1"]
        watchers = [desktop.watcher("window", common, work / "window.log").start(),
                    desktop.watcher("afk", [*common, "--timeout", "600"],
                                    work / "afk.log").start()]
        usage = Usage({w.kind: w.proc.pid for w in watchers if w.proc is not None})
        steps = schedule(args.minutes, args.seed)
        print(f"playing {len(steps)} segments, {sum(s.seconds for s in steps) / 60:.1f} min, "
              f"on {desktop.description}, server={args.server}", flush=True)
        played = play(desktop, table, [*steps, Step("sentinel", 2.0)])
        wall, cpu, rss = usage.finish()
        for w in watchers:  # SIGTERM: the watcher flushes its cache and queue first
            if w.stop() != 0 or not w.saw("0 heartbeats left queued"):
                print(f"{w.kind} did not stop cleanly:\n{w.output()[-2000:]}", file=sys.stderr)
        events = server.events(f"aw-watcher-window_{socket.gethostname()}")
        app_of_title = {title_of(w): w.split(":")[0] for w in table if w != "sentinel"}
        script = totals((p.window.split(":")[0], p.seconds) for p in played[:-1])
        recorded = totals((app_of_title.get(e["data"]["title"], "other"), float(e["duration"]))
                          for e in events)
        apps_seen: dict[str, set[str]] = {}
        for event in events:
            app = app_of_title.get(event["data"]["title"], "other")
            apps_seen.setdefault(app, set()).add(event["data"]["app"])
        results = report(script, recorded, apps_seen)
        print(f"\nwall {wall:.1f} s")
        for kind in cpu:
            print(f"{'aw-watcher-' + kind:<20} CPU {cpu[kind]:6.3f} % of one core   "
                  f"RSS max {rss[kind]:5.1f} MiB")
        worst = max(abs(r["error_pct"]) for r in results.values())
        print(f"worst per-app error {worst:.3f} % (target ±{TARGET_ERROR_PCT:g} %); targets: "
              f"CPU ≤ {TARGET_CPU_PCT:g} %, RSS ≤ {TARGET_RSS_MIB:g} MiB")
        if args.json:
            args.json.write_text(json.dumps({
                "backend": args.backend, "desktop": desktop.description, "apps": results,
                "cpu_pct": cpu, "rss_max_mib": rss, "wall_s": wall, "server": args.server,
                "unrecorded_s": recorded.get("other", 0.0)}, indent=2))
        ok = (worst <= TARGET_ERROR_PCT and max(cpu.values()) <= TARGET_CPU_PCT
              and max(rss.values()) <= TARGET_RSS_MIB)
        return 0 if ok else 1
    finally:
        for w in watchers:
            if w.running():
                w.kill9()
        server.stop()
        desktop.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--backend", choices=list(DESKTOPS), default="x11")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--server", choices=["aw_server", "fake"], default="aw_server")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    return run(args, Path(tempfile.mkdtemp(prefix="aw-watcher-bench-")))


if __name__ == "__main__":
    sys.exit(main())
