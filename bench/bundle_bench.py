"""Size, build time, start time and memory of the PyInstaller bundle (or of a venv).

    .venv/bin/python bench/bundle_bench.py                  # build into a temp dir, measure
    .venv/bin/python bench/bundle_bench.py --bundle dist/aw-qt   # measure an existing build
    .venv/bin/python bench/bundle_bench.py --runs 5 --json bench/results/bundle_bench.json
    .venv/bin/python bench/bundle_bench.py --venv           # this venv's `aw-qt` command
    .venv/bin/python bench/bundle_bench.py --venv --breakdown --env MALLOC_ARENA_MAX=2

Each start runs the bundle as a user would (no venv on PATH, fresh data folders, a
free loopback port, `--testing`) in a throw-away X session with openbox and a trayer
tray, and measures: time to the first answer of /api/0/info, time until the tray icon
is embedded, and, once both watchers have sent events, RSS and PSS of aw-qt and of
each watcher (PSS splits the pages the three processes share, so its sum is the real
cost); then, with `--query`, once more after one query has started the server's query
worker, which it lists as a process of its own. The page cache is warm after the first
start: "first" is the closest to a cold start this can measure without root-only cache
dropping; the median is the usual case. `--venv` runs the same start with the running
venv's `aw-qt` command (as the README starts it) on this checkout's code (the watchers
as `python -m watchers.NAME`) instead.
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

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402

from tests.aw_qt.xsession import XSession, missing_tools  # noqa: E402
from tests.bundle.build import Bundle, build_bundle  # noqa: E402
from tests.bundle.test_bundle import (  # noqa: E402
    info_answers,
    loopback_port,
    recording,
    user_environment,
)

MB = 2**20
# How each process aw-qt starts is recognised on its command line, bundled or from a venv.
CHILDREN = (("aw-watcher-afk", ("aw-watcher-afk", "watchers.afk")),
            ("aw-watcher-window", ("aw-watcher-window", "watchers.window")),
            ("query-worker", ("--multiprocessing-fork", "spawn_main")),
            ("resource-tracker", ("resource_tracker",)))
AFK_QUERY = ['afk = flood(query_bucket(find_bucket("aw-watcher-afk")));',
             "RETURN = sum_durations(afk);"]


def children(pid: int) -> dict[str, int]:
    """aw-qt's children by role (see CHILDREN); others (a resource tracker) by pid."""
    found: dict[str, int] = {}
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.NoSuchProcess:
            continue
        role = next((name for name, marks in CHILDREN if any(m in cmd for m in marks)),
                    f"other-{child.pid}")
        found[role] = child.pid
    return found


def measure(pid: int) -> dict[str, dict[str, float]]:
    mem = {"aw-qt": memory(pid)}
    mem.update({name: memory(child) for name, child in children(pid).items()})
    return mem


def pss_by_mapping(pid: int, top: int = 12) -> list[tuple[str, float]]:
    """aw-qt's PSS by what is mapped (a library, the heap, anonymous memory), largest
    first: where the process's memory goes, from /proc/PID/smaps (Linux only)."""
    sizes: dict[str, int] = {}
    name = "?"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):
            name = Path(fields[5]).name if len(fields) > 5 else "[anon]"
        elif fields and fields[0] == "Pss:":
            sizes[name] = sizes.get(name, 0) + int(fields[1]) * 1024
    ranked = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return [(mapping, size / MB) for mapping, size in ranked]


def totals(mem: dict[str, dict[str, float]]) -> dict[str, float]:
    return {key: sum(m[key] for m in mem.values()) for key in ("rss_mb", "pss_mb", "uss_mb")}


def folder_size(folder: Path) -> tuple[int, int]:
    """Bytes on disk (as `du`) and the number of files."""
    out = subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True,
                         check=True).stdout
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    return int(out.split()[0]), files


def tarball_size(bundle: Bundle, workdir: Path) -> tuple[int, float]:
    """Size of the .tar.gz build-bundle makes (the same tar -czf), and how long it took."""
    target = workdir / "aw-qt.tar.gz"
    started = time.monotonic()
    subprocess.run(["tar", "-C", str(bundle.folder.parent), "-czf", str(target),
                    bundle.folder.name], check=True)
    return target.stat().st_size, time.monotonic() - started


def memory(pid: int) -> dict[str, float]:
    proc = psutil.Process(pid)
    info = proc.memory_full_info()
    return {"rss_mb": info.rss / MB, "pss_mb": getattr(info, "pss", 0) / MB,
            "uss_mb": info.uss / MB}


def welcome_marker_under(base: Path) -> Path:
    """Where aw-qt --testing looks for its first-start marker with AW_BASE_DIR=`base`."""
    from aw_qt.startup import Options, welcome_marker

    before = os.environ.get("AW_BASE_DIR")
    os.environ["AW_BASE_DIR"] = str(base)
    try:
        return welcome_marker(Options(testing=True))
    finally:
        if before is None:
            del os.environ["AW_BASE_DIR"]
        else:
            os.environ["AW_BASE_DIR"] = before


def one_start(command: list[str], workdir: Path, run: int, query: bool,
              breakdown: bool = False, extra_env: dict[str, str] | None = None,
              welcomed: bool = False) -> dict[str, Any]:
    x = XSession(workdir / f"x{run}").start()
    home = workdir / f"home{run}"
    stub = workdir / f"stub{run}"
    home.mkdir()
    stub.mkdir()
    env = user_environment(x.env, home, stub)
    base = workdir / f"aw{run}"
    env["AW_BASE_DIR"] = str(base)
    env.update(extra_env or {})
    if Path(command[0]).parent == Path(sys.executable).parent:  # --venv: this checkout's code
        env["PYTHONPATH"] = str(REPO_ROOT)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(base / var.lower())
    if welcomed:  # a profile past its first start: no welcome window (aw_qt/first_run.py)
        marker = welcome_marker_under(base)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    port = loopback_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / f"aw-qt-{run}.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen([*command, "--testing", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        x.wait(lambda: info_answers(url), "/api/0/info", timeout=120)
        info_s = time.monotonic() - started
        x.wait(x.tray_icon, "the tray icon", timeout=60)
        tray_s = time.monotonic() - started
        x.wait(lambda: {n for n, _ in CHILDREN[:2]} <= set(children(proc.pid)), "watchers",
               timeout=60)
        x.wait(lambda: recording(url), "events", timeout=120)
        time.sleep(2.0)  # let start-up allocations settle
        mem = measure(proc.pid)
        result: dict[str, Any] = {"memory": mem, "total": totals(mem)}
        if breakdown:
            result["aw_qt_pss_by_mapping"] = pss_by_mapping(proc.pid)
        if query:
            answer = requests.post(f"{url}/api/0/query/", timeout=120, json={
                "timeperiods": ["2000-01-01T00:00:00+00:00/2100-01-01T00:00:00+00:00"],
                "query": AFK_QUERY})
            answer.raise_for_status()
            time.sleep(2.0)
            after = measure(proc.pid)
            result.update(memory_after_query=after, total_after_query=totals(after))
        proc.send_signal(signal.SIGTERM)
        quit_started = time.monotonic()
        proc.wait(60)
        quit_s = time.monotonic() - quit_started
        return {"info_s": info_s, "tray_s": tray_s, "quit_s": quit_s, **result}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
        x.stop()


def print_memory(title: str, mem: dict[str, dict[str, float]],
                 total: dict[str, float]) -> None:
    print(f"{title}: " + "; ".join(f"{name} RSS {m['rss_mb']:.1f} PSS {m['pss_mb']:.1f}"
                                   for name, m in mem.items())
          + f" MB (total RSS {total['rss_mb']:.1f}, PSS {total['pss_mb']:.1f} MB)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, help="an existing dist/aw-qt folder")
    parser.add_argument("--venv", action="store_true",
                        help="measure this venv's `aw-qt` command instead of a bundle")
    parser.add_argument("--query", action="store_true",
                        help="also measure after one query started the query worker")
    parser.add_argument("--breakdown", action="store_true",
                        help="also list aw-qt's largest PSS mappings (libraries, heap) idle")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set this in aw-qt's environment (repeatable), to compare "
                             "e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--welcomed", action="store_true",
                        help="a profile past its first start (no welcome window): the "
                             "tray as it runs every day after the first")
    parser.add_argument("--runs", type=int, default=3, help="starts to measure (default 3)")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    if missing_tools():
        print(f"needs {', '.join(missing_tools())}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as tmp:
        workdir = Path(tmp)
        results: dict[str, Any] = {"cpus": os.cpu_count(), "runs": []}
        if args.venv:
            # The venv's `aw-qt` command, as the README starts it: its script is also what
            # multiprocessing hands a spawned query worker as the main module.
            command = [str(Path(sys.executable).parent / "aw-qt")]
            results["mode"] = "venv"
        else:
            if args.bundle is not None:
                bundle = Bundle(args.bundle.resolve(), None, None)
            else:
                print("building (scripts/build-bundle) ...", flush=True)
                bundle = build_bundle(workdir / "dist", workdir / "work")
            command = [str(bundle.exe)]
            size, files = folder_size(bundle.folder)
            tar_bytes, tar_s = tarball_size(bundle, workdir)
            results.update(mode="bundle", build_s=bundle.seconds, onedir_mb=size / MB,
                           files=files, tarball_mb=tar_bytes / MB, tarball_s=tar_s)
            print(f"build: {bundle.seconds and round(bundle.seconds, 1)} s; onedir "
                  f"{size / MB:.1f} MB in {files} files; tar.gz {tar_bytes / MB:.1f} MB "
                  f"({tar_s:.1f} s to compress)", flush=True)
        for run in range(args.runs):
            result = one_start(command, workdir, run, args.query, args.breakdown,
                               dict(item.split("=", 1) for item in args.env), args.welcomed)
            results["runs"].append(result)
            print(f"start {run + 1}: /api/0/info {result['info_s']:.2f} s, tray icon "
                  f"{result['tray_s']:.2f} s, quit {result['quit_s']:.2f} s", flush=True)
            print_memory("  idle", result["memory"], result["total"])
            if args.breakdown:
                print("  aw-qt PSS by mapping: " + ", ".join(
                    f"{name} {mb:.1f}" for name, mb in result["aw_qt_pss_by_mapping"]))
            if args.query:
                print_memory("  after a query", result["memory_after_query"],
                             result["total_after_query"])
        runs = results["runs"]
        results["summary"] = {
            "first_info_s": runs[0]["info_s"], "first_tray_s": runs[0]["tray_s"],
            "median_info_s": statistics.median(r["info_s"] for r in runs),
            "median_tray_s": statistics.median(r["tray_s"] for r in runs),
            "median_rss_total_mb": statistics.median(r["total"]["rss_mb"] for r in runs),
            "median_pss_total_mb": statistics.median(r["total"]["pss_mb"] for r in runs),
            "median_rss_aw_qt_mb": statistics.median(r["memory"]["aw-qt"]["rss_mb"]
                                                     for r in runs),
        }
        print(json.dumps(results["summary"], indent=2))
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
