"""A real aw-qt process for end-to-end tests: started with private dirs and a free port,
watched through its log and its process tree, stopped with everything it started.

`user_environment` is what a desktop user's shell would pass: no venv of ours on PATH,
no Python variables, HOME and the XDG folders private to the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from tests.support.servers import free_port

PYTHON_VARS = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
               "CONDA_PREFIX", "QT_QPA_PLATFORM")
XDG_VARS = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
XDG_OPEN_STUB = """#!/bin/sh
# Stands in for the desktop's opener: records what aw-qt asked it to open.
printf '%s\\n' "$1" >> "{record}"
"""


def loopback_port() -> int:
    """A free port that is none of ActivityWatch's fixed ones."""
    while (port := free_port()) in (5600, 5601, 5666, 5667):
        pass
    return port


def user_environment(base: dict[str, str], home: Path) -> dict[str, str]:
    """`base` (e.g. an X session's env) as a user's own shell would have it, with HOME,
    the XDG folders and AW_BASE_DIR under `home`."""
    ours = {Path(sys.prefix).resolve() / "bin", Path(sys.executable).resolve().parent}
    path = [entry for entry in base.get("PATH", os.defpath).split(os.pathsep)
            if entry and Path(entry).resolve() not in ours]
    env = {k: v for k, v in base.items() if k not in PYTHON_VARS}
    env.update(PATH=os.pathsep.join(path), HOME=str(home), AW_BASE_DIR=str(home / "aw"))
    for var in XDG_VARS:
        env[var] = str(home / var.lower())
    return env


def path_first(env: dict[str, str], folder: Path) -> dict[str, str]:
    """`env` with `folder` first on PATH (stubs, test watchers)."""
    return {**env, "PATH": f"{folder}{os.pathsep}{env['PATH']}"}


def stub_opener(folder: Path) -> Path:
    """An `xdg-open` for the front of PATH; returns the file it records into."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "opened.txt"
    stub = folder / "xdg-open"
    stub.write_text(XDG_OPEN_STUB.format(record=record))
    stub.chmod(0o755)
    return record


def set_server_port(env: dict[str, str], port: int, *, testing: bool = False) -> None:
    """The port through the server's own config file (aw-qt honours it, as does
    `aw-server`): the command line stays as a user types it."""
    config = Path(env["AW_BASE_DIR"]) / "config" / "aw-server" / "aw-server.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    section = "server-testing" if testing else "server"
    config.write_text(f"[{section}]\nport = {port}\n", encoding="utf-8")


@dataclass
class Running:
    """One started command (aw-qt, or a shell running it) and its log."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def info(self) -> dict[str, object] | None:
        try:
            response = requests.get(f"{self.url}/api/0/info", timeout=2)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None

    def descendants(self) -> list[psutil.Process]:
        try:
            return [p for p in psutil.Process(self.proc.pid).children(recursive=True)
                    if p.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            return []

    def find(self, word: str) -> dict[int, str]:
        """Living descendants whose command line holds `word`: pid -> command line."""
        found = {}
        for child in self.descendants():
            with contextlib.suppress(psutil.NoSuchProcess):
                cmd = " ".join(child.cmdline())
                if word in cmd:
                    found[child.pid] = cmd
        return found

    def awqt_pid(self) -> int:
        """aw-qt itself: the process, or a descendant when a shell started it (a shell
        may also have replaced itself with its last command)."""
        own = " ".join(psutil.Process(self.proc.pid).cmdline())
        if self.argv[0] != "bash" or "aw-qt" in own:
            return self.proc.pid
        return next(pid for pid, cmd in self.find("aw-qt").items()
                    if "aw-watcher" not in cmd)

    def signal_awqt(self, sig: int = signal.SIGTERM) -> None:
        os.kill(self.awqt_pid(), sig)

    def wait(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout)

    def ends_cleanly(self, timeout: float = 60.0) -> bool:
        """Waits for it to exit; True if it exited with 0 and left nothing running."""
        children = self.descendants()
        code = self.wait(timeout)
        left = []
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    left.append(child.pid)
        if code != 0 or left:
            print(f"exit code {code}; still running: {left}\n{self.log()[-3000:]}")
        return code == 0 and not left

    def stop(self) -> None:
        """Whatever is left of it, gone: SIGTERM to its session, then SIGKILL."""
        left = self.descendants()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for child in left:  # watchers run in sessions of their own
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
                child.wait(10)


@contextlib.contextmanager
def watched(run: Running, on_failure: Callable[[], object] = lambda: None,
            cleanup: Callable[[], object] = lambda: None) -> Iterator[Running]:
    """A test's time with `run`: `on_failure` when it fails (a screenshot), and in any
    case `run` and whatever it left stopped, `cleanup` done and the log's end printed."""
    try:
        yield run
    except BaseException:
        on_failure()
        raise
    finally:
        run.stop()
        cleanup()
        print(run.log()[-2500:])
