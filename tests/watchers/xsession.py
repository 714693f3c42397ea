"""A private X session for tests: Xvfb on a display it picks itself, openbox, xterms, xdotool.

The X server comes from `tests.support.xvfb`. Every wait here polls a real condition
(the WM's EWMH check window, a client's `_NET_WM_PID`) with a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.xvfb import end_processes, start_xvfb

WAIT = 15.0
WM_START = 60.0  # openbox can take many seconds when the shared cores are busy


def x_tools_missing() -> list[str]:
    return [tool for tool in ("Xvfb", "openbox", "xdotool", "xterm") if shutil.which(tool) is None]


def _poll(predicate: object, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


class XSession:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.display = ""
        self.procs: list[subprocess.Popen[bytes]] = []
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.wm: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
        env["LANG"] = env["LC_ALL"] = "C.UTF-8"
        return env

    def start(self) -> XSession:
        self.xvfb, self.display = start_xvfb(1280, 800, self.workdir / "xvfb.log")
        try:
            self.start_wm()
        except BaseException:
            self.stop()
            raise
        return self

    def _wm_running(self) -> bool:
        out = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.env,
                             capture_output=True, text=True, check=False).stdout
        return "window id" in out

    def start_wm(self) -> None:
        log = (self.workdir / "openbox.log").open("ab")
        self.wm = subprocess.Popen(["openbox", "--sm-disable"], env=self.env,
                                   stdout=log, stderr=log)
        log.close()
        try:
            _poll(self._wm_running, "openbox to manage the screen", WM_START)
        except TimeoutError as exc:
            text = (self.workdir / "openbox.log").read_text(errors="replace")[-1000:]
            raise TimeoutError(f"{exc}; openbox exit={self.wm.poll()} log: {text}") from exc

    def kill_wm(self) -> None:
        """Kill the WM abruptly; the `_NET_*` properties it owned go away with it."""
        assert self.wm is not None
        self.wm.kill()
        self.wm.wait(5)
        subprocess.run(["xprop", "-root", "-remove", "_NET_ACTIVE_WINDOW"], env=self.env,
                       check=False)
        subprocess.run(["xprop", "-root", "-remove", "_NET_SUPPORTING_WM_CHECK"],
                       env=self.env, check=False)

    def xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True,
                              check=True, timeout=WAIT).stdout.strip()

    def open_xterm(self, title: str, cls: str | None = None) -> int:
        """Open an xterm titled `title` and return its window id.

        xterm stores a non-ASCII title only as WM_NAME of type COMPOUND_TEXT.
        """
        cmd = ["xterm", "-T", title]
        if cls:
            cmd += ["-class", cls]
        cmd += ["-e", "sleep", "100000"]
        proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        found: list[int] = []

        def mapped() -> bool:
            out = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(proc.pid)],
                                 env=self.env, capture_output=True, text=True,
                                 check=False).stdout.split()
            found[:] = [int(w) for w in out]
            return bool(found)

        _poll(mapped, f"xterm {title!r} to map")
        return found[0]

    def activate(self, window: int) -> None:
        self.xdotool("windowactivate", "--sync", str(window))

    def set_title(self, window: int, title: str) -> None:
        """Sets _NET_WM_NAME as UTF8_STRING, as GTK and Qt do."""
        subprocess.run(["xprop", "-id", str(window), "-f", "_NET_WM_NAME", "8u", "-set",
                        "_NET_WM_NAME", title], env=self.env, check=True, timeout=WAIT)

    def input(self) -> None:
        """Real XTest input: resets the MIT-SCREEN-SAVER idle counter."""
        self.xdotool("mousemove_relative", "--", "1", "1")

    def idle_ms(self) -> int:
        from Xlib import display

        d = display.Display(self.display)
        try:
            return int(d.screen().root.screensaver_query_info().idle)
        finally:
            d.close()

    def close_window_of(self, window: int) -> None:
        self.xdotool("windowkill", str(window))

    def stop(self) -> None:
        end_processes([*self.procs, self.wm, self.xvfb])
