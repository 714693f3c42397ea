"""One supervised module process: start, ask to stop, force, and read its log.

A module's stdout and stderr go to a file of ours (`<aw-qt log dir>/modules/NAME.log`)
rather than a pipe, so a chatty module can never block on a full pipe and the crash
dialog can show what it printed before dying. Each module gets its own session, so a
Ctrl-C in aw-qt's terminal reaches aw-qt alone and aw-qt stops the modules in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from aw_qt.desktop.child_environment import child_environment
from aw_qt.modules.finder import ModuleSpec

logger = logging.getLogger(__name__)

MAX_LOG_BYTES = 1024 * 1024


def describe_exit(code: int | None) -> str:
    """Why a process ended, in words: a signal says more than "code -11" (a crash in
    native code, the OOM killer, a user's `kill`)."""
    if code is None:
        return "is still running"
    if code < 0:
        try:
            name = f"{signal.Signals(-code).name} ({-code})"
        except ValueError:
            name = str(-code)
        return f"was killed by signal {name}"
    return f"exited with code {code}"


class ModuleProcess:
    def __init__(self, spec: ModuleSpec, extra_args: Iterable[str], log_path: Path,
                 env: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.argv = [*spec.argv, *extra_args]
        self.log_path = log_path
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    def start(self) -> None:
        """Spawn the process; raises OSError when it cannot be executed."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists() and self.log_path.stat().st_size > MAX_LOG_BYTES:
            os.replace(self.log_path, self.log_path.with_suffix(".log.old"))
        kwargs: dict[str, object] = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        else:
            kwargs["start_new_session"] = True
        with self.log_path.open("ab") as log:
            log.write(f"--- aw-qt starts {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # type: ignore[call-overload]
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env if self.env is not None else child_environment(), **kwargs)
        logger.info("started %s (pid %s): %s", self.spec.name, self.pid, " ".join(self.argv))

    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def request_stop(self) -> None:
        """SIGTERM (TerminateProcess on Windows): the module flushes its queue and exits."""
        if self.is_alive():
            assert self._proc is not None
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()

    def kill(self) -> None:
        if self.is_alive():
            assert self._proc is not None
            logger.warning("%s did not stop in time; killing it", self.spec.name)
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    def wait(self, timeout: float) -> bool:
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def note(self, text: str) -> None:
        """Add a line of ours to the module's log, e.g. how its run ended, so the file
        (and the crash dialog showing its end) says what the output alone cannot."""
        try:
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(f"--- aw-qt: {text}\n")
        except OSError as exc:
            logger.warning("cannot write to %s: %s", self.log_path, exc)

    def log_tail(self, lines: int = 40) -> str:
        """The end of what the module printed, newest last."""
        text = _tail(self.log_path, lines)
        return text or "(the module wrote nothing)"


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def stop_all(processes: Iterable[ModuleProcess], timeout: float) -> None:
    """SIGTERM all at once, wait up to `timeout` s in total, then SIGKILL the rest."""
    running = [p for p in processes if p.is_alive()]
    for proc in running:
        logger.info("stopping %s (pid %s)", proc.spec.name, proc.pid)
        proc.request_stop()
    deadline = time.monotonic() + timeout
    for proc in running:
        proc.wait(max(0.0, deadline - time.monotonic()))
    for proc in running:
        if proc.is_alive():
            proc.kill()
            proc.wait(5.0)
    if os.name != "nt":
        for proc in running:
            # A module may have forked helpers into its session: end them too.
            if proc.pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
