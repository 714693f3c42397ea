"""aw-qt numbers: start to tray icon, idle RSS and CPU, time to quit.

Runs `aw-qt --testing --port P` with the real watchers in a private X session
(Xvfb + openbox + trayer, see tests/aw_qt/xsession.py) and its own AW_BASE_DIR:

    .venv/bin/python bench/tray_bench.py                 # 3 runs, 180 s idle window
    .venv/bin/python bench/tray_bench.py --runs 1 --idle-seconds 30

- start to tray: from `Popen` to the icon's window being embedded in trayer.
- idle RSS: aw-qt alone (embedded server included) and each watcher, 10 s after both
  watchers started; also the sum.
- idle CPU: process CPU time (user+sys) over the idle window, as % of one core.
- quit: from the Quit click (run 1, xdotool on the menu) or SIGTERM (later runs) to
  the process exit; the check that no child is left is part of the run.
Needs: apt xvfb openbox trayer xdotool imagemagick x11-utils libxcb-icccm4 libxcb-keysyms1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.aw_qt.xsession import XSession, missing_tools  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

WATCHERS = ("aw-watcher-afk", "aw-watcher-window")


def watchers(proc: psutil.Process) -> dict[str, psutil.Process]:
    found = {}
    for child in proc.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        for name in WATCHERS:
            if name in cmd:
                found[name] = child
    return found


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        times = p.cpu_times()
        total += times.user + times.system
    return total


def one_run(run: int, idle_s: float, via_menu: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aw-tray-bench-") as tmp:
        base = Path(tmp)
        x = XSession(base / "x").start()
        try:
            port = free_port()
            env = dict(x.env, AW_BASE_DIR=str(base / "aw"), HOME=str(base))
            for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
                env[var] = str(base / var.lower())
            log = (base / "aw-qt.log").open("wb")
            started = time.monotonic()
            popen = subprocess.Popen(
                [sys.executable, "-m", "aw_qt", "--testing", "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
            proc = psutil.Process(popen.pid)
            try:
                icon = x.wait(x.tray_icon, "tray icon", timeout=60)
                to_tray = time.monotonic() - started
                found = x.wait(lambda: (w := watchers(proc)) and len(w) == 2 and w,
                               "watchers", timeout=60)
                time.sleep(10)  # settle: imports done, first heartbeats sent
                rss = {"aw-qt": proc.memory_info().rss}
                rss.update({n: p.memory_info().rss for n, p in found.items()})
                everything = [proc, *found.values()]
                cpu0, t0 = cpu_seconds([proc]), time.monotonic()
                all0 = cpu_seconds(everything)
                time.sleep(idle_s)
                span = time.monotonic() - t0
                cpu_awqt = 100 * (cpu_seconds([proc]) - cpu0) / span
                cpu_all = 100 * (cpu_seconds(everything) - all0) / span
                children = [c.pid for c in proc.children(recursive=True)]
                if via_menu:
                    x.xdotool("mousemove", *map(str, icon.center), "click", "3")
                    x.wait(x.popup_menus, "menu")
                    quit_started = time.monotonic()
                    x.xdotool("key", "Up", "Return")
                else:
                    quit_started = time.monotonic()
                    popen.send_signal(signal.SIGTERM)
                code = popen.wait(60)
                quit_s = time.monotonic() - quit_started
                left = [p for p in children if psutil.pid_exists(p)
                        and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
            finally:
                if popen.poll() is None:
                    popen.kill()
                    popen.wait(10)
                log.close()
            return {"run": run, "start_to_tray_s": round(to_tray, 3),
                    "rss_mib": {k: round(v / 2**20, 1) for k, v in rss.items()},
                    "rss_total_mib": round(sum(rss.values()) / 2**20, 1),
                    "idle_cpu_pct_awqt": round(cpu_awqt, 3),
                    "idle_cpu_pct_with_watchers": round(cpu_all, 3),
                    "idle_window_s": round(span, 1),
                    "quit_via": "menu" if via_menu else "SIGTERM",
                    "quit_s": round(quit_s, 3), "exit_code": code, "left_running": left,
                    "load_avg": os.getloadavg()}
        finally:
            x.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=180.0)
    parser.add_argument("--json", type=Path,
                        default=REPO_ROOT / "bench" / "results" / "tray_bench.json")
    args = parser.parse_args()
    if missing_tools():
        print(f"missing tools: {', '.join(missing_tools())}", file=sys.stderr)
        return 2
    results = []
    for run in range(1, args.runs + 1):
        result = one_run(run, args.idle_seconds, via_menu=run == 1)
        print(json.dumps(result), flush=True)
        results.append(result)
    summary = {
        "start_to_tray_s_median": statistics.median(r["start_to_tray_s"] for r in results),
        "rss_total_mib_median": statistics.median(r["rss_total_mib"] for r in results),
        "rss_awqt_mib_median": statistics.median(r["rss_mib"]["aw-qt"] for r in results),
        "idle_cpu_pct_awqt_median": statistics.median(
            r["idle_cpu_pct_awqt"] for r in results),
        "idle_cpu_pct_with_watchers_median": statistics.median(
            r["idle_cpu_pct_with_watchers"] for r in results),
        "quit_s_median": statistics.median(r["quit_s"] for r in results),
        "all_clean": all(r["exit_code"] == 0 and not r["left_running"] for r in results),
    }
    print(json.dumps(summary, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
