"""Running a real watcher as a subprocess, the way aw-qt or a user starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.watchers.helpers import wait_until
from tests.watchers.servers import REPO


class WatcherProcess:
    """`python -m watchers.<kind> ...` with its stderr collected line by line."""

    def __init__(self, kind: str, args: list[str], env: dict[str, str], log: Path,
                 interpreter: list[str] | None = None) -> None:
        self.kind = kind
        self.interpreter = interpreter or [sys.executable]
        self.args = args
        self.env = env
        self.log = log
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self, ready: str = "started") -> WatcherProcess:
        self.lines = []
        self.proc = subprocess.Popen(
            [*self.interpreter, "-m", f"watchers.{self.kind}", *self.args], cwd=REPO, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: self.saw(ready) or self.proc is None or self.proc.poll() is not None,
                   f"{self.kind} to log {ready!r}")
        assert self.proc.poll() is None, self.output()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with self.log.open("a", encoding="utf-8") as log:
            for line in self.proc.stderr:
                self.lines.append(line)
                log.write(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: the watcher flushes its queue and exits 0."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def watcher_env(base: Path, display: str | None = None) -> dict[str, str]:
    """Environment for a watcher subprocess: private dirs, no inherited API key."""
    env = dict(os.environ)
    env["AW_BASE_DIR"] = str(base)
    env.pop("AW_API_KEY", None)
    env["PYTHONUNBUFFERED"] = "1"
    if display is not None:
        env["DISPLAY"] = display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
    return env
