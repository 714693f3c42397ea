"""Starting and ending the X server of a test session; shared by the watchers' X session
and the tray's.

`Xvfb -displayfd` picks a free display number itself and writes it once the server
accepts connections, so parallel test runs and other users' X servers never collide and
nobody polls for a socket to appear.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path


def start_xvfb(width: int, height: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb ready for clients, and its display name (":N")."""
    read_fd, write_fd = os.pipe()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=out, stderr=subprocess.STDOUT)
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        number = reader.readline().strip()
    if not number:
        end_processes([proc])
        raise RuntimeError(f"Xvfb did not report a display number (log: {log})")
    return proc, f":{number}"


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
