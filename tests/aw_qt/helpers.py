"""Tiny module scripts for the Supervisor, a hand-moved clock, bounded waits, and
embedded servers behind a Controller."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psutil

from aw_qt.controller import Controller, Folders
from aw_qt.desktop.autostart import XdgAutostart
from aw_qt.modules.finder import ModuleSpec
from aw_qt.modules.supervisor import Supervisor
from aw_qt.pause import PauseStore
from aw_qt.server import ServerHandle
from aw_server.config import ServerConfig
from aw_server.serve import Server

SCRIPTS = {
    # Runs until SIGTERM, then notes it got one and exits cleanly.
    "well": """
import signal, sys, time, pathlib
marker = pathlib.Path(sys.argv[1])
def stop(*_):
    with marker.open("a") as f:
        f.write("term\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    time.sleep(0.2)
""",
    # Dies on its own shortly after starting, with something on stderr.
    "crash": """
import sys, time
print("boom: something went wrong", file=sys.stderr, flush=True)
time.sleep(0.05)
sys.exit(1)
""",
    # Prints more lines than a dialog shows at once, then dies of a segmentation fault.
    "segv": """
import os, signal
for n in range(60):
    print(f"line {n} of this run", flush=True)
print("newest: about to crash", flush=True)
os.kill(os.getpid(), signal.SIGSEGV)
""",
    # Ignores SIGTERM: only SIGKILL ends it.
    "hang": """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.2)
""",
}


def make_spec(tmp_path: Path, kind: str, name: str | None = None) -> ModuleSpec:
    name = name or f"aw-watcher-{kind}"
    script = tmp_path / f"{name}.py"
    script.write_text(SCRIPTS[kind], encoding="utf-8")
    return ModuleSpec(name, (sys.executable, str(script), str(tmp_path / f"{name}.marker")),
                      "system")


def unsupported_watcher_spec(tmp_path: Path) -> tuple[ModuleSpec, dict[str, str]]:
    """Our real window watcher, forced to the wlroots backend with no Wayland display
    to reach: it logs why it cannot track and exits 3. (spec, environment to run it in)"""
    spec = ModuleSpec("aw-watcher-window", (sys.executable, "-m", "watchers.window",
                                            "--testing", "--backend", "wlroots"), "builtin")
    env = {key: value for key, value in os.environ.items()
           if key not in ("WAYLAND_DISPLAY", "DISPLAY", "AW_API_KEY")}
    env.update(XDG_RUNTIME_DIR=str(tmp_path / "no-session"), AW_BASE_DIR=str(tmp_path / "aw"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return spec, env


def terms(tmp_path: Path, name: str) -> int:
    marker = tmp_path / f"{name}.marker"
    return marker.read_text().count("term") if marker.exists() else 0


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 23, 14, 0).astimezone()
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def wait_for(predicate: Callable[[], object], timeout: float = 15.0,
             step: Callable[[], None] | None = None) -> None:
    """Poll (calling `step` each round) until `predicate()` holds; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step is not None:
            step()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_ready(tmp_path: Path, name: str, log_dir: str = "logs") -> None:
    """Until the script printed "ready" (its SIGTERM handler is in place)."""
    log = tmp_path / log_dir / f"{name}.log"
    wait_for(lambda: log.exists() and "ready" in log.read_text())


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def living_children() -> dict[int, str]:
    """Living (non-zombie) child processes of this test process: pid -> command line."""
    out = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                out[child.pid] = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            pass
    return out


def embedded_server(folder: Path, hostname: str) -> Server:
    """A real server as aw-qt embeds it, in a thread of the test process, on free ports,
    with no background sync schedule (every sync in a test is one the test caused)."""
    config = ServerConfig(testing=True, port=0, dbpath=folder / "server.sqlite",
                          hostname=hostname, sync_interval_s=0)
    server = Server(config)
    server.start_in_thread()
    return server


def quiet_controller(tmp_path: Path, handle: ServerHandle) -> Controller:
    """A Controller with no modules to supervise: for what the tray shows of the server."""
    supervisor = Supervisor({}, log_dir=tmp_path / "logs",
                            pause_store=PauseStore(tmp_path / "pause.json"), stop_timeout=5.0)
    return Controller(supervisor, handle, XdgAutostart(tmp_path / "xdg", [], ["aw-qt"]),
                      Folders(tmp_path / "log", tmp_path / "config"), testing=True)
