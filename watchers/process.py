"""The watcher process: exit codes, logging, stop signals, parent death.

Kept apart from the watchers' logic so that logic stays importable and testable
without installing signal handlers or touching the log directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sys
import threading
from types import FrameType

from watchers.config import log_dir

logger = logging.getLogger(__name__)

# Exit codes a supervisor can act on. EXIT_UNSUPPORTED means "this session cannot be
# tracked (no display, Wayland without a helper)": restarting will not help, so aw-qt
# should show the logged reason once instead of restarting the module.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_UNSUPPORTED = 3

# Diagnostics: when set, a watcher that stops writes the names of every module it had
# loaded to `<this folder>/<watcher>.modules`, one per line. The footprint tests read it
# to prove a watcher process never loads Qt, numpy, Flask or the server.
MODULES_DIR_ENV = "AW_WATCHER_MODULES_DIR"


def setup_logging(module: str, testing: bool, verbose: bool) -> None:
    """stderr plus a file in ActivityWatch's log dir (`<cache>/activitywatch/log/<module>/`)."""
    level = logging.DEBUG if verbose else logging.INFO
    fmt = logging.Formatter("%(asctime)s [%(levelname)-5s]: %(message)s  (%(name)s)")
    root = logging.getLogger()
    root.setLevel(level)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    try:
        directory = log_dir(module)
        os.makedirs(directory, exist_ok=True)
        name = f"{module}{'-testing' if testing else ''}.log"
        handler = logging.FileHandler(os.path.join(directory, name), encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:
        logger.warning("Logging to stderr only: %s", exc)


def dump_loaded_modules(module: str) -> None:
    """Write `sys.modules`' names for the footprint tests (see MODULES_DIR_ENV)."""
    folder = os.environ.get(MODULES_DIR_ENV)
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{module}.modules"), "w", encoding="utf-8") as out:
            out.write("".join(f"{name}\n" for name in sorted(sys.modules)))
    except OSError as exc:
        logger.warning("Could not write the loaded modules to %s: %s", folder, exc)


class Stopper:
    """A stop flag that SIGTERM/SIGINT set and that sleeping code wakes up on.

    Besides an Event it owns a pipe whose read end backends can `select()` on together
    with their own file descriptor (the X11 connection), so a stop request interrupts
    a wait at once instead of after a whole poll interval.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self.reason = ""

    @property
    def fileno(self) -> int:
        return self._read_fd

    def is_set(self) -> bool:
        return self._event.is_set()

    def stop(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()
            with contextlib.suppress(OSError):  # pipe full: already woken
                os.write(self._write_fd, b"x")

    def wait(self, timeout: float, extra_fd: int | None = None) -> bool:
        """Sleep up to `timeout` s; return early when stopped (True) or `extra_fd` is readable."""
        if self._event.is_set():
            return True
        fds = [self._read_fd] if extra_fd is None else [self._read_fd, extra_fd]
        if timeout > 0:
            select.select(fds, [], [], timeout)
        return self._event.is_set()

    def close(self) -> None:
        """Release the pipe (for stoppers made for one thread, not the process's)."""
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            self.stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


class ParentWatch:
    """Notices that the process that started us (aw-qt, a shell) has gone.

    ActivityWatch's watchers exit when their parent dies (aw-watcher-afk#77) so an
    aw-qt crash does not leave orphans recording forever. On POSIX a reparented child
    sees its parent pid change; Windows keeps the old pid, so there we ask whether that
    process still runs.
    """

    def __init__(self) -> None:
        self.initial = os.getppid()

    def parent_alive(self) -> bool:
        if os.name != "nt":
            return os.getppid() == self.initial
        return _windows_process_alive(self.initial)


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    synchronize = 0x00100000
    wait_timeout = 0x00000102
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    try:
        return bool(kernel32.WaitForSingleObject(handle, 0) == wait_timeout)
    finally:
        kernel32.CloseHandle(handle)
