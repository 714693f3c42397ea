"""Memory floor of aw-qt's stack, measured exactly as bundle_bench.py measures aw-qt.

    .venv/bin/python bench/floor_bench.py --venv                 # from this venv
    .venv/bin/python bench/floor_bench.py --bundle               # build a bundle, measure
    .venv/bin/python bench/floor_bench.py --bundle-dir DIR       # an existing floor build

bench/floor_app.py is the least a tray with an embedded Flask/waitress server, a peewee
database and two python-xlib watchers can be. This starts it in the same throw-away X
session (Xvfb, openbox, a trayer tray) and with the same user environment as
bundle_bench.py, waits until both watchers' heartbeats arrive and the icon sits in the
tray, and reports RSS and PSS of the tray process and each watcher. Their sum is the
footprint no aw-qt built on this stack can go below; what aw-qt measures above it is
what its own features cost. `--bundle` builds the floor with PyInstaller the way
aw-qt.spec builds aw-qt (one folder, one executable for every process, PyInstaller's
PyQt6 runtime hook left out), into a temporary folder (~2 minutes).
"""

from __future__ import annotations

import argparse
import json
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
from bundle_bench import memory, totals  # noqa: E402

from tests.aw_qt.xsession import XSession, missing_tools  # noqa: E402
from tests.bundle.test_bundle import loopback_port, user_environment  # noqa: E402

APP = Path(__file__).resolve().parent / "floor_app.py"
SPEC = """
from PyInstaller.utils.hooks import collect_submodules
a = Analysis([{app!r}], hiddenimports=collect_submodules("Xlib"),
             excludes=["tkinter", "pytest", "numpy", "matplotlib"])
scripts = [s for s in a.scripts if s[0] != "pyi_rth_pyqt6"]
exe = EXE(PYZ(a.pure), scripts, [], exclude_binaries=True, name="floor", console=True)
COLLECT(exe, a.binaries, a.datas, name="floor")
"""


def build(workdir: Path) -> Path:
    spec = workdir / "floor.spec"
    spec.write_text(SPEC.format(app=str(APP)))
    log = workdir / "pyinstaller.log"
    with log.open("wb") as out:
        done = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm",
                               "--distpath", str(workdir / "dist"), "--workpath",
                               str(workdir / "build"), str(spec)],
                              stdout=out, stderr=subprocess.STDOUT, timeout=1200, check=False)
    exe = workdir / "dist" / "floor" / "floor"
    if done.returncode != 0 or not exe.is_file():
        raise SystemExit(f"PyInstaller failed, see {log}:\n{log.read_text()[-3000:]}")
    return exe


def beats(url: str) -> int:
    try:
        return int(requests.get(f"{url}/count", timeout=5).json()["beats"])
    except (requests.RequestException, ValueError, KeyError):
        return -1


def one_start(command: list[str], workdir: Path, run: int) -> dict[str, Any]:
    x = XSession(workdir / f"x{run}").start()
    home = workdir / f"home{run}"
    stub = workdir / f"stub{run}"
    data = workdir / f"data{run}"
    for folder in (home, stub, data):
        folder.mkdir()
    env = user_environment(x.env, home, stub)
    env["FLOOR_DATA_DIR"] = str(data)
    port = loopback_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / f"floor-{run}.log").open("wb")
    proc = subprocess.Popen([*command, "tray", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=home)
    try:
        x.wait(x.tray_icon, "the tray icon", timeout=60)
        first = x.wait(lambda: (n := beats(url)) >= 2 and n, "heartbeats", timeout=60)
        x.wait(lambda: beats(url) >= first + 4, "both watchers' heartbeats", timeout=60)
        time.sleep(2.0)  # as bundle_bench: let start-up allocations settle
        mem = {"tray": memory(proc.pid)}
        kids = [c for c in psutil.Process(proc.pid).children() if c.status() != "zombie"]
        for number, child in enumerate(sorted(kids, key=lambda c: c.pid), 1):
            mem[f"watcher-{number}"] = memory(child.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        return {"memory": mem, "total": totals(mem)}
    finally:
        if proc.poll() is None:
            for child in psutil.Process(proc.pid).children():
                child.kill()
            proc.kill()
            proc.wait(10)
        log.close()
        x.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--venv", action="store_true", help="run floor_app.py from this venv")
    mode.add_argument("--bundle", action="store_true", help="build a floor bundle, measure it")
    mode.add_argument("--bundle-dir", type=Path, help="an existing floor build (its folder)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build the bundle here and keep it")
    args = parser.parse_args()
    if missing_tools():
        print(f"needs {', '.join(missing_tools())}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="floor-bench-") as tmp:
        workdir = Path(tmp)
        if args.venv:
            command = [sys.executable, str(APP)]
        elif args.bundle_dir is not None:
            command = [str(args.bundle_dir.resolve() / "floor")]
        else:
            target = args.keep or workdir
            target.mkdir(parents=True, exist_ok=True)
            print("building the floor bundle with PyInstaller ...", flush=True)
            command = [str(build(target))]
        runs = []
        for run in range(args.runs):
            result = one_start(command, workdir, run)
            runs.append(result)
            print(f"start {run + 1}: " + "; ".join(
                f"{name} RSS {m['rss_mb']:.1f} PSS {m['pss_mb']:.1f}"
                for name, m in result["memory"].items())
                + f" MB (total RSS {result['total']['rss_mb']:.1f}, "
                  f"PSS {result['total']['pss_mb']:.1f} MB)", flush=True)
        print(json.dumps({
            "mode": "venv" if args.venv else "bundle",
            "median_rss_total_mb": statistics.median(r["total"]["rss_mb"] for r in runs),
            "median_pss_total_mb": statistics.median(r["total"]["pss_mb"] for r in runs),
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
