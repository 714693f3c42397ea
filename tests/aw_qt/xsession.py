"""A throw-away X session for end-to-end tests: Xvfb, openbox and a trayer tray.

Each part is started by us, on a display number nobody uses (`tests.support.xvfb`),
polled until ready (the `_NET_SYSTEM_TRAY_S0` owner) and ended by its pid. The tray host
can be left out, stopped and started again, as a desktop without one (or a panel
that crashes) would.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Xlib import X, display, error

from tests.support.xvfb import end_processes, start_xvfb

NEEDED = ("Xvfb", "openbox", "trayer", "xdotool", "wmctrl", "import", "convert")
TRAYER = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200",
          "--height", "32", "--transparent", "false", "--SetDockType", "true"]
WIDTH, HEIGHT = 1280, 800
APP_CLASS = "ActivityWatch"


def missing_tools() -> list[str]:
    return [tool for tool in NEEDED if shutil.which(tool) is None]


@dataclass
class Geometry:
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


@dataclass
class XSession:
    workdir: Path
    number: int = 0
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    conn: Any = None
    trayer: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f":{self.number}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ, DISPLAY=self.name)
        env.pop("QT_QPA_PLATFORM", None)
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def _spawn(self, argv: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log).open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append(proc)
        return proc

    def start(self, *, tray: bool = True) -> XSession:
        self.workdir.mkdir(parents=True, exist_ok=True)
        xvfb, name = start_xvfb(WIDTH, HEIGHT, self.workdir / "xvfb.log")
        self.procs.append(xvfb)
        self.number = int(name[1:])
        self.conn = display.Display(self.name)
        self._spawn(["openbox", "--sm-disable"], "openbox.log")
        self.wait(lambda: self.conn.get_selection_owner(self._atom("WM_S0")) != X.NONE,
                  "the window manager")
        if tray:
            self.start_tray()
        return self

    def _atom(self, name: str) -> int:
        return int(self.conn.intern_atom(name))

    def tray_owned(self) -> bool:
        tray_atom = self._atom(f"_NET_SYSTEM_TRAY_S{self.conn.get_default_screen()}")
        return bool(self.conn.get_selection_owner(tray_atom) != X.NONE)

    def start_tray(self) -> None:
        self.trayer = self._spawn(TRAYER, "trayer.log")
        self.wait(self.tray_owned, "tray host")

    def stop_tray(self) -> None:
        """The panel goes away, as when it crashes."""
        assert self.trayer is not None
        self.trayer.terminate()
        self.trayer.wait(10)
        self.procs.remove(self.trayer)
        self.trayer = None
        self.wait(lambda: not self.tray_owned(), "the tray host to go")

    def wait(self, predicate: Any, what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    # -- looking at windows ---------------------------------------------------------------
    def _windows(self) -> list[tuple[Any, Any]]:
        """(window, parent) for every window, depth first."""
        out = []
        stack = [(self.conn.screen().root, None)]
        while stack:
            window, parent = stack.pop()
            out.append((window, parent))
            with contextlib.suppress(error.BadWindow, error.BadDrawable):
                stack.extend((child, window) for child in window.query_tree().children)
        return out

    def _geometry(self, window: Any) -> Geometry:
        geo = window.get_geometry()
        pos = window.translate_coords(self.conn.screen().root, 0, 0)
        return Geometry(-pos.x, -pos.y, geo.width, geo.height)

    def app_windows(self, *, embedded: bool) -> list[tuple[Geometry, str]]:
        """Viewable windows of the app: embedded (the tray icon) or top-level ones."""
        root = self.conn.screen().root
        found = []
        for window, parent in self._windows():
            try:
                wm_class = window.get_wm_class()
                if not wm_class or wm_class[1] != APP_CLASS:
                    continue
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                top = parent == root or (parent is not None and
                                         parent.query_tree().parent == root)
                name = window.get_wm_name() or ""
                geo = self._geometry(window)
            except (error.BadWindow, error.BadDrawable):
                continue
            in_tray = parent is not None and parent != root and geo.width <= 64
            if (in_tray if embedded else top and geo.width > 64):
                found.append((geo, str(name)))
        return found

    def popup_menus(self) -> list[Geometry]:
        """The app's open menus (windows typed _NET_WM_WINDOW_TYPE_POPUP_MENU)."""
        wanted = {self.conn.intern_atom("_NET_WM_WINDOW_TYPE_POPUP_MENU"),
                  self.conn.intern_atom("_NET_WM_WINDOW_TYPE_DROPDOWN_MENU")}
        type_atom = self.conn.intern_atom("_NET_WM_WINDOW_TYPE")
        root = self.conn.screen().root
        found = []
        for window in root.query_tree().children:
            try:
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                prop = window.get_full_property(type_atom, X.AnyPropertyType)
                if prop is not None and wanted & set(prop.value):
                    found.append(self._geometry(window))
            except (error.BadWindow, error.BadDrawable):
                continue
        return found

    def tray_icon(self) -> Geometry | None:
        icons = self.app_windows(embedded=True)
        return icons[0][0] if icons else None

    def window_named(self, title: str) -> Geometry | None:
        """A viewable top-level window of the app with exactly this title."""
        return next((geo for geo, name in self.app_windows(embedded=False) if name == title),
                    None)

    def close_window(self, title: str) -> None:
        """Ask the window to close, as its title bar's close button does."""
        subprocess.run(["wmctrl", "-F", "-c", title], env=self.env, check=True, timeout=20)

    def dismiss(self, title: str) -> None:
        """Wait for the window, close it, and wait until it is gone."""
        self.wait(lambda: self.window_named(title), f"the window {title!r}")
        self.close_window(title)
        self.wait(lambda: not self.window_named(title), f"{title!r} to close")

    def painted_icon(self, timeout: float = 20.0) -> Geometry:
        """The tray icon, once it shows more than a flat background."""
        icon: Geometry = self.wait(self.tray_icon, "the tray icon", timeout)
        self.wait(lambda: self.colours(icon) > 4, "the icon to be drawn")
        return icon

    # -- acting ---------------------------------------------------------------------------
    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, timeout=20)

    def screenshot(self, path: Path, crop: Geometry | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        full = self.workdir / "full.png"
        subprocess.run(["import", "-window", "root", str(full)], env=self.env, check=True,
                       timeout=30)
        if crop is None:
            shutil.copy(full, path)
        else:
            subprocess.run(["convert", str(full), "-crop",
                            f"{crop.width}x{crop.height}+{crop.x}+{crop.y}", "+repage",
                            str(path)], check=True, timeout=30)
        return path

    def colours(self, crop: Geometry) -> int:
        """How many distinct colours the screen shows in `crop` (1: nothing drawn yet)."""
        shot = self.screenshot(self.workdir / "colours.png", crop)
        out = subprocess.run(["identify", "-format", "%k", str(shot)], capture_output=True,
                             text=True, check=True, timeout=30).stdout
        return int(out.strip() or 0)

    def pixels(self, crop: Geometry) -> list[tuple[int, int, int]]:
        """The screen's pixels in `crop`, as 8-bit (r, g, b)."""
        shot = self.screenshot(self.workdir / "pixels.png", crop)
        out = subprocess.run(["convert", str(shot), "-depth", "8", "txt:-"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        return [(int(r), int(g), int(b)) for r, g, b in
                re.findall(r"^\d+,\d+: \((\d+),(\d+),(\d+)", out, re.M)]

    def stop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        end_processes(reversed(self.procs))
        self.procs.clear()
