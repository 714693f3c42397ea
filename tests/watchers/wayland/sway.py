"""A headless sway session for tests, with real clients: foot (native) and xterm (XWayland).

sway runs as the desktop user of a `UserSession` (it refuses root), on wlroots'
headless backend with the pixman software renderer and no input devices, so it needs
no GPU, no seat manager and no logind. Its config has it write its own environment to
a file at start-up, which is how the test learns the names sway chose for its Wayland
socket, its IPC socket and the X display of its (lazily started) Xwayland.

Windows are found in sway's tree by a unique app id or X class, focused by con_id
with `swaymsg`, and a foot window can be retitled at any time: it runs a loop that
prints each line written to its FIFO as an OSC 2 title sequence.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.watchers.wayland.harness import UserBenchDesktop, UserSession, poll

HEADLESS = {"WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman",
            "WLR_LIBINPUT_NO_DEVICES": "1"}
TOOLS = ("sway", "swaymsg", "foot", "xterm", "Xwayland", "wtype")
SESSION_VARS = ("WAYLAND_DISPLAY", "SWAYSOCK", "DISPLAY")
CONFIG = """\
output HEADLESS-1 resolution 1280x800
xwayland enable
exec env > {env_file}.part && mv {env_file}.part {env_file}
"""
# Retitles its own window with every line written to the FIFO (fd 3 is opened
# read-write, so writers coming and going never end the loop with an EOF).
RETITLE_LOOP = ('exec 3<>"$1"; while IFS= read -r t <&3; do printf "\\033]2;%s\\007" "$t"; '
                'done')


def sway_tools_missing() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


class SwaySession:
    """sway + its clients as the desktop user of `user`; `stop()` is the user session's."""

    def __init__(self, user: UserSession, extra_config: str = "") -> None:
        self.user = user
        self.extra_config = extra_config
        self.vars: dict[str, str] = {}
        self._fifos: dict[int, Path] = {}
        self._xterms: list[str] = []

    def start(self) -> SwaySession:
        missing = sway_tools_missing()
        if missing:
            raise RuntimeError(f"missing for the sway tests: {', '.join(missing)} "
                               f"(scripts/test installs them: apt-get install sway foot "
                               f"xwayland xterm wtype)")
        env_file = self.user.files / "sway-env"
        config = self.user.write_file(
            "sway.conf", CONFIG.format(env_file=env_file) + self.extra_config)
        proc = self.user.spawn(["sway", "--config", str(config)], "sway.log",
                               env=self.user.env(**HEADLESS))

        def started() -> bool:
            if proc.poll() is not None:
                log = (self.user.logdir / "sway.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"sway exited with {proc.returncode}: {log}")
            return env_file.exists()

        poll(started, "sway to start and run its config's exec")
        lines = env_file.read_text(encoding="utf-8").splitlines()
        found = dict(line.split("=", 1) for line in lines if "=" in line)
        self.vars = {key: found[key] for key in SESSION_VARS if key in found}
        assert "WAYLAND_DISPLAY" in self.vars and "SWAYSOCK" in self.vars, found
        poll(lambda: self.swaymsg("-t", "get_version", check=False).returncode == 0,
             "sway's IPC socket")
        return self

    def env(self, **extra: str) -> dict[str, str]:
        """What a program started inside this sway session sees."""
        return self.user.env(XDG_SESSION_TYPE="wayland", XDG_CURRENT_DESKTOP="sway",
                             **self.vars, **extra)

    def swaymsg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = self.user.run(["swaymsg", *args], env=self.env())
        if check and result.returncode != 0:
            raise RuntimeError(f"swaymsg {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def tree(self) -> dict[str, Any]:
        return dict(json.loads(self.swaymsg("-t", "get_tree", "--raw").stdout))

    def windows(self) -> Iterator[dict[str, Any]]:
        """Every window in sway's tree (native ones have an app_id, X ones a class)."""
        stack = [self.tree()]
        while stack:
            node = stack.pop()
            if node.get("pid") and node.get("type") in ("con", "floating_con"):
                yield node
            stack.extend(node.get("nodes", []) + node.get("floating_nodes", []))

    def find(self, title: str) -> dict[str, Any] | None:
        """The window titled `title`, if there is one."""
        return next((node for node in self.windows() if node.get("name") == title), None)

    def _con_id(self, key: str, value: str, title: str) -> int | None:
        for node in self.windows():
            ours = (node.get("app_id") if key == "app_id"
                    else (node.get("window_properties") or {}).get("class"))
            if ours == value and node.get("name") == title:
                return int(node["id"])
        return None

    def open_foot(self, app_id: str, title: str) -> int:
        """A foot window; returns its con_id once it is mapped. The pair (app id, title)
        must be unique among the session's windows."""
        fifo = self.user.files / f"title-{len(self._fifos)}"
        made = self.user.run(["mkfifo", str(fifo)])
        assert made.returncode == 0, made.stderr
        self.user.spawn(["foot", f"--app-id={app_id}", f"--title={title}", "--",
                         "sh", "-c", RETITLE_LOOP, "retitle", str(fifo)],
                        f"foot-{app_id}.log", env=self.env())
        con_id = int(poll(lambda: self._con_id("app_id", app_id, title),
                          f"foot window {title!r}"))
        self._fifos[con_id] = fifo
        return con_id

    def open_xterm(self, x_class: str, title: str) -> int:
        """An xterm through Xwayland (sway starts it on the first X client).

        xterm writes a title it can in Latin-1 into WM_NAME as STRING (as old X programs
        do), other titles as COMPOUND_TEXT, for which wlroots shows no title; those are
        set the way modern X programs set them, as `_NET_WM_NAME` in UTF-8.
        """
        assert "DISPLAY" in self.vars, "sway started without Xwayland"
        try:
            latin1 = title.encode("latin-1")
        except UnicodeEncodeError:
            latin1 = None
        first = title if latin1 is not None else f"xterm {len(self._xterms)} of {x_class}"
        self._xterms.append(first)
        self.user.spawn(["xterm", "-class", x_class, "-T", first, "-e", "sleep", "100000"],
                        f"xterm-{x_class}.log", env=self.env())
        # sway's IPC passes the title's bytes on as they are; read as UTF-8 with errors
        # replaced, Latin-1 letters show as U+FFFD.
        shown = latin1.decode("utf-8", "replace") if latin1 is not None else first
        con_id = int(poll(lambda: self._con_id("class", x_class, shown),
                          f"xterm window {title!r}", timeout=60))
        if latin1 is None:
            found = self.user.run(["xdotool", "search", "--name", f"^{first}$"], env=self.env())
            done = self.user.run(["xprop", "-id", found.stdout.split()[0], "-f", "_NET_WM_NAME",
                                  "8u", "-set", "_NET_WM_NAME", title], env=self.env())
            assert done.returncode == 0, done.stderr
            poll(lambda: self._con_id("class", x_class, title), f"xterm titled {title!r}")
        return con_id

    def retitle(self, con_id: int, title: str) -> None:
        """The foot window `con_id` sets its title to `title` (OSC 2, as a shell does)."""
        with self._fifos[con_id].open("w", encoding="utf-8") as fifo:
            fifo.write(title + "\n")

    def activate(self, con_id: int) -> None:
        """Focus a window by con_id; swaymsg answers once sway has done it."""
        self.swaymsg(f"[con_id={con_id}]", "focus")

    def focused_title(self) -> str | None:
        for node in self.windows():
            if node.get("focused"):
                return str(node.get("name"))
        return None

    def type_key(self) -> None:
        """Real keyboard input through the virtual-keyboard protocol (resets idle)."""
        result = self.user.run(["wtype", "-k", "Shift_L"], env=self.env())
        assert result.returncode == 0, result.stderr



class SwayBenchDesktop(UserBenchDesktop[SwaySession]):
    """sway for bench/watcher_accuracy.py (`--backend sway`): apps whose name contains
    "Term" are xterms through Xwayland, the others foot windows; the watchers run as
    the desktop user."""

    folder = "sway"

    @classmethod
    def start_compositor(cls, session: UserSession) -> SwaySession:
        return SwaySession(session).start()

    def describe(self) -> str:
        return f"headless sway, Wayland display {self.compositor.vars['WAYLAND_DISPLAY']}"

    def open_window(self, app: str, title: str) -> int:
        if "Term" in app:
            return self.compositor.open_xterm(app, title)
        return self.compositor.open_foot(app, title)
