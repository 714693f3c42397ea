"""Shared helpers for the benchmark and crash-test scripts in ``bench/``.

The scripts are run directly (``.venv/bin/python bench/server_bench.py``), so this module
puts the repository root on ``sys.path`` to reach ``tests.support.reference`` (the
reference-server tooling); it reuses that module's free-port, isolated-environment and
process-stopping helpers so every server we benchmark is started the same careful way.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.reference import (  # noqa: E402 - needs the sys.path entry above
    ReferenceServerError,
    ServerSubprocess,
    find_free_port,
    isolated_env,
    read_log_tail,
    spawn_logged,
    wait_for_http,
)

__all__ = [
    "REPO_ROOT",
    "BenchServer",
    "OurServer",
    "RssSampler",
    "ServerStartError",
    "dir_size",
    "percentile",
    "spread",
    "start_our_server",
]

#: How long our server may take to answer /api/0/info after spawn.
OUR_START_TIMEOUT_S = 60.0


class ServerStartError(RuntimeError):
    """Our server did not come up; message includes its log tail."""


@dataclass(eq=False)
class OurServer(ServerSubprocess):
    """Our ``python -m aw_server`` subprocess, started with its own dirs and DB file."""

    db_path: Path
    extra_args: tuple[str, ...] = ()

    @property
    def data_dir(self) -> Path:
        """Folder that holds the database and its WAL/SHM side files."""
        return self.db_path.parent


class BenchServer(Protocol):
    """What a benchmark needs of a running server, ours or the reference.

    Both :class:`OurServer` and ``tests.support.reference.ReferenceServer`` fit, so a
    measurement written once runs against either side unchanged.
    """

    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def data_dir(self) -> Path: ...

    def stop(self) -> int | None: ...


def start_our_server(
    data_root: Path,
    *,
    port: int | None = None,
    db_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    python: str | None = None,
    timeout_s: float = OUR_START_TIMEOUT_S,
) -> OurServer:
    """Start ``python -m aw_server --testing --host 127.0.0.1 --port P --dbpath DB``.

    XDG dirs (and ``AW_BASE_DIR``, our own override) point below ``data_root`` so the
    benchmark never touches a developer's real data.  The log (stdout+stderr) goes to
    ``data_root/aw-server-ours.log`` and is appended to, so restarts in the kill test keep
    one history.  Raises :class:`ServerStartError` with the log tail on failure.
    """
    data_root.mkdir(parents=True, exist_ok=True)
    chosen = port if port is not None else find_free_port()
    db = db_path if db_path is not None else data_root / "db" / "test.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    env = isolated_env(data_root)
    env["AW_BASE_DIR"] = str(data_root / "awbase")
    log_path = data_root / "aw-server-ours.log"
    cmd = [
        python or sys.executable,
        "-m",
        "aw_server",
        "--testing",
        "--host",
        "127.0.0.1",
        "--port",
        str(chosen),
        "--dbpath",
        str(db),
        *extra_args,
    ]
    proc = spawn_logged(cmd, log_path, env=env, cwd=REPO_ROOT, append=True)
    server = OurServer(proc, chosen, data_root, log_path, db_path=db, extra_args=extra_args)
    try:
        server.info = wait_for_http(f"{server.url}/api/0/info", proc, log_path, timeout_s)
    except ReferenceServerError as exc:
        server.stop()
        raise ServerStartError(str(exc)) from exc
    return server


def dir_size(path: Path) -> int:
    """Total bytes of regular files below ``path`` (database + WAL + side files)."""
    total = 0
    if not path.exists():
        return 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no numpy dependency); ``nan`` for an empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100.0 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max) of repeated runs; all ``nan`` for an empty list.

    Min–max rather than an IQR: with the 3 to 5 runs a benchmark can afford, quartiles
    are the extremes anyway, and the full range is what tells a noisy run apart.
    """
    if not values:
        nan = float("nan")
        return nan, nan, nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return median, ordered[0], ordered[-1]


class RssSampler:
    """Samples a process's resident set size in a background thread.

    Peak RSS is what a user notices (the tray's server living for weeks), and a sampled
    maximum is the only portable way to get it for another process: ``ru_maxrss`` only
    covers our own children after they exit.
    """

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process(pid)
        self._interval = interval_s
        self._stop = threading.Event()
        self.peak = 0
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def current(self) -> int:
        """RSS right now (bytes), including any child processes."""
        import psutil

        try:
            total = int(self._proc.memory_info().rss)
            for child in self._proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += int(child.memory_info().rss)
        except psutil.Error:
            return 0
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.current()
            if rss == 0:
                break  # process gone
            self.peak = max(self.peak, rss)
            self.samples += 1
            self._stop.wait(self._interval)

    def start(self) -> RssSampler:
        """Begin sampling; returns self for chaining."""
        self.peak = max(self.peak, self.current())
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop sampling (bounded join) and return the peak in bytes."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak


def log_tail(path: Path, lines: int = 30) -> str:
    """Tail of a server log, for error messages."""
    return read_log_tail(path, lines)


def monotonic_deadline(seconds: float) -> float:
    """A ``time.monotonic()`` deadline ``seconds`` from now (bounds every loop)."""
    return time.monotonic() + seconds
