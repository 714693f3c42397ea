"""A second launch reaches the running aw-qt: "show yourself", and what it did.

Someone who starts ActivityWatch again has lost it: the no-tray window was closed, or
the icon is hidden in an overflow area. The running aw-qt (which holds the instance
lock) listens on a Unix socket beside the lock; a second launch sends `show`, and the
first answers with how it can be reached: `window` (raised its window), `tray` (pointed
at its icon) or `headless` (it has neither). Plain sockets, no Qt: `--no-gui` answers
too, and tests drive both ends without a screen.

Only this user can connect (the socket sits in their data folder, or is made 0600
where a long path forces it into the runtime or temp folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

MAX_PATH_BYTES = 100  # sun_path holds 104-108 bytes depending on the system
REQUEST = b"show\n"


def socket_path(lock: Path) -> Path:
    path = lock.with_suffix(".sock")
    if len(os.fsencode(path)) <= MAX_PATH_BYTES:
        return path
    folder = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
    return Path(folder) / f"aw-qt-{digest}.sock"


class SummonListener:
    """The running instance's end; `handle_pending` is called when `fileno` is readable
    (a Qt socket notifier) or on every tick (the headless loop)."""

    def __init__(self, sock: socket.socket, path: Path) -> None:
        self._sock = sock
        self.path = path
        self.answer: Callable[[], str] = lambda: "headless"

    @classmethod
    def open(cls, path: Path) -> SummonListener | None:
        """Listen at `path`; None (logged) where that cannot work. The caller holds the
        instance lock, so a file left at `path` is a dead instance's and is replaced."""
        if not hasattr(socket, "AF_UNIX"):
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            path.parent.mkdir(parents=True, exist_ok=True)
            sock.bind(str(path))
            os.chmod(path, 0o600)
            sock.listen(4)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            logger.warning("a second launch cannot reach this one (%s: %s)", path, exc)
            return None
        return cls(sock, path)

    def fileno(self) -> int:
        return self._sock.fileno()

    def handle_pending(self) -> None:
        while True:
            try:
                conn, _addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                logger.warning("summon socket: %s", exc)
                return
            with conn:
                self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(1.0)  # a well-behaved client has sent its line already
            if not conn.recv(64).startswith(REQUEST.strip()):
                return
            reply = self.answer()
            logger.info("a second launch asked for this aw-qt: %s", reply)
            conn.sendall(reply.encode() + b"\n")
        except OSError as exc:
            logger.warning("summon socket: %s", exc)

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def summon(path: Path, timeout: float = 5.0) -> str | None:
    """Ask the running instance to show itself; its answer, or None if none listens."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(REQUEST)
            reply = sock.recv(64).decode("utf-8", "replace").strip()
    except OSError as exc:
        logger.info("the running aw-qt did not answer at %s: %s", path, exc)
        return None
    return reply or None
