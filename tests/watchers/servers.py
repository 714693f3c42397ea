"""Servers as subprocesses for the integration tests: ours (`python -m aw_server`) or the fake.

`ServerProcess` starts a server on a free 127.0.0.1 port with its own data dir, waits
until `GET /api/0/info` answers (`tests.support.servers.wait_until_up`), and can stop
and restart it on the same port with the same database, which is what the queue tests
need.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.support.servers import free_port, wait_until_up

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


class ServerProcess:
    """One server subprocess; `kind` is "aw_server" (ours) or "fake" (tests/watchers/fakeserver)."""

    def __init__(self, kind: str, workdir: Path, port: int | None = None) -> None:
        self.kind = kind
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"server-{kind}.log"
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "aw_server":
            return [sys.executable, "-m", "aw_server", "--testing", "--host", "127.0.0.1",
                    "--port", str(self.port), "--dbpath", str(self.workdir / "server.db")]
        return [sys.executable, "-m", "tests.watchers.fakeserver", "--port", str(self.port),
                "--state", str(self.workdir / "fake-state.json")]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        base = self.workdir / "server-home"
        env.update({
            "XDG_DATA_HOME": str(base / "data"), "XDG_CONFIG_HOME": str(base / "config"),
            "XDG_CACHE_HOME": str(base / "cache"), "AW_BASE_DIR": str(base / "aw"),
            "PYTHONPATH": str(REPO),
        })
        return env

    def start(self) -> ServerProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=REPO, env=self.env(),
                                         stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(self.url, self.proc, self.log, START_TIMEOUT)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop gracefully (SIGTERM, so the server commits what it acknowledged)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def events(self, bucket: str) -> list[dict[str, Any]]:
        """Events of `bucket`, oldest first ([] while the bucket does not exist yet)."""
        response = requests.get(f"{self.url}/api/0/buckets/{bucket}/events", timeout=10)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(response.json(), key=lambda e: e["timestamp"])

    def buckets(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/api/0/buckets/", timeout=10)
        if response.status_code == 404:  # the fake has no listing
            return {}
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
