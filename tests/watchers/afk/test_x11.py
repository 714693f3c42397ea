"""The real aw-watcher-afk subprocess on a real X server, driven by real XTest input."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.watchers.helpers import wait_until
from tests.watchers.processes import WatcherProcess, watcher_env
from tests.watchers.scenario import away_and_back, check_away_and_back, timestamp
from tests.watchers.servers import ServerProcess
from tests.watchers.xsession import XSession
from watchers.afk.backends.x11 import X11IdleBackend

pytestmark = pytest.mark.x11

BUCKET = f"aw-watcher-afk_{socket.gethostname()}"
TIMEOUT = 3.0
POLL = 0.5


def test_idle_counter_follows_xtest_input(xsession: XSession) -> None:
    backend = X11IdleBackend(xsession.display)
    try:
        xsession.input()
        first = backend.seconds_since_input()
        grown = wait_until(lambda: (idle := backend.seconds_since_input()) > first + 0.2
                           and idle, "idle time to grow")
        xsession.input()
        wait_until(lambda: backend.seconds_since_input() < grown, "input to reset idle time")
    finally:
        backend.close()


def test_afk_and_back_recorded_at_the_last_input(xsession: XSession, server: ServerProcess,
                                                 tmp_path: Path) -> None:
    xsession.input()
    watcher = WatcherProcess(
        "afk", ["--testing", "--port", str(server.port), "--timeout", str(TIMEOUT),
                "--poll-time", str(POLL)],
        watcher_env(tmp_path / "aw", xsession.display), tmp_path / "afk.log").start()
    last_input, back = away_and_back(xsession.input, watcher.saw, away_s=2.0)
    for _ in range(4):
        xsession.input()
        time.sleep(0.4)
    assert watcher.stop() == 0
    wait_until(lambda: [e for e in server.events(BUCKET) if timestamp(e) > back - 0.1],
               "the return to be recorded")
    check_away_and_back(server.events(BUCKET), last_input, back, tolerance=POLL,
                        timeout=TIMEOUT)


def test_exits_when_the_parent_dies(xsession: XSession, tmp_path: Path) -> None:
    """The supervisor (here a small Python parent) is SIGKILLed; the watcher follows."""
    import signal
    import subprocess
    import sys

    import psutil

    from tests.watchers.servers import REPO, free_port

    log = tmp_path / "afk.log"
    parent_code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'watchers.afk', '--testing', '--port',"
        f" '{free_port()}', '--poll-time', '0.5', '--timeout', '3'],"
        f" stderr=open({str(log)!r}, 'w'))\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=REPO, text=True,
                              stdout=subprocess.PIPE,
                              env=watcher_env(tmp_path / "aw", xsession.display))
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    wait_until(lambda: "started" in log.read_text(), "the watcher to start")
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def gone() -> bool:
        try:
            return child.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(gone, "the orphaned watcher to exit")
    assert "Parent process died" in log.read_text()
