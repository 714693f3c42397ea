"""Start the real `aw-server` command as a subprocess and wait until it answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path,
                  deadline_s: float = 30.0) -> None:
    """Poll `GET /api/0/info` until it answers 200; raise RuntimeError with the log's tail
    if the server exits first or the deadline passes (no fixed sleeps)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/api/0/info", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or slow to answer
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server did not answer within {deadline_s}s:\n{log.read_text()[-3000:]}")


@dataclass
class ServerProcess:
    base: Path
    port: int
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    db: Path | None = None
    # The module run with `python -m`: the product's command, or a test launcher that
    # takes the same flags (launch_server.py).
    module: str = "aw_server"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dbpath(self) -> Path:
        return self.db or self.base / "server.sqlite"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def start(self) -> ServerProcess:
        env = dict(os.environ, AW_BASE_DIR=str(self.base / "dirs"))
        cmd = [sys.executable, "-m", self.module, "--testing", "--host", "127.0.0.1",
               "--port", str(self.port), "--dbpath", str(self.dbpath), *self.extra_args]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_until_up(self.url, self.proc, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def start_server_process(base: Path, *extra_args: str, port: int | None = None,
                         db: Path | None = None) -> ServerProcess:
    base.mkdir(parents=True, exist_ok=True)
    return ServerProcess(base, port or free_port(), list(extra_args), db=db).start()
