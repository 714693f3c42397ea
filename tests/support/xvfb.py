"""Starting and ending the X server of a test session; shared by the watchers' X session
and the tray's.

The display number is picked among free ones (no lock file, no socket file, no abstract
socket: a leftover Xwayland can hold the last without the others), and Xvfb's
`-displayfd` says when it accepts connections, so nobody polls for a socket. Letting Xvfb
pick the number itself once gave a display whose abstract socket another server held:
Xvfb logged "server already running", reported the number anyway, and openbox could not
open it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

FIRST_DISPLAY = 200  # above the low numbers Xwayland (sway, KWin, GNOME tests) takes
LAST_DISPLAY = 999
ATTEMPTS = 20


def display_taken(number: int) -> bool:
    """Whether another X server holds this display: its lock file, its socket file, or its
    abstract socket (Xwayland's can outlive the lock file, and Xvfb then reports the
    display although clients reach the other server: "server already running")."""
    if (Path(f"/tmp/.X{number}-lock").exists()
            or Path(f"/tmp/.X11-unix/X{number}").exists()):
        return True
    try:
        sockets = Path("/proc/net/unix").read_text(errors="replace")
    except OSError:
        return False
    return f"@/tmp/.X11-unix/X{number}\n" in sockets


def start_xvfb(width: int, height: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb ready for clients, and its display name (":N").

    The display is chosen here among free ones, and `-displayfd` only tells when the
    server accepts connections; a server that could not own every socket of its display
    is ended and the next free display tried."""
    start = FIRST_DISPLAY + os.getpid() % 400
    candidates = [n for n in range(start, LAST_DISPLAY + 1) if not display_taken(n)]
    for number in candidates[:ATTEMPTS]:
        proc = _try_display(number, width, height, log)
        if proc is not None:
            return proc, f":{number}"
    raise RuntimeError(f"Xvfb could not start on any of {ATTEMPTS} free displays (log: {log})")


def _try_display(number: int, width: int, height: int, log: Path
                 ) -> subprocess.Popen[bytes] | None:
    read_fd, write_fd = os.pipe()
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-displayfd", str(write_fd), "-screen", "0",
             f"{width}x{height}x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=out, stderr=subprocess.STDOUT)
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        ready = reader.readline().strip() == str(number)
    with log.open("rb") as text:
        text.seek(offset)
        clash = b"server already running" in text.read()
    if ready and not clash and proc.poll() is None:
        return proc
    end_processes([proc])
    return None


def end_processes(procs: Iterable[subprocess.Popen[bytes] | None]) -> None:
    """Terminate each still-running process, in the order given, killing any that do not
    exit within 5 s."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
