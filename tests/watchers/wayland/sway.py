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

from tests.watchers.wayland.harness import UserSession, poll

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

    def __init__(self, user: UserSession) -> None:
        self.user = user
        self.vars: dict[str, str] = {}
        self._fifos: dict[str, Path] = {}

    def start(self) -> SwaySession:
        missing = sway_tools_missing()
        if missing:
            raise RuntimeError(f"missing for the sway tests: {', '.join(missing)} "
                               f"(scripts/test installs them: apt-get install sway foot "
                               f"xwayland xterm wtype)")
        env_file = self.user.files / "sway-env"
        config = self.user.write_file("sway.conf", CONFIG.format(env_file=env_file))
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

    def _con_id(self, key: str, value: str) -> int | None:
        for node in self.windows():
            if key == "app_id" and node.get("app_id") == value:
                return int(node["id"])
            if key == "class" and (node.get("window_properties") or {}).get("class") == value:
                return int(node["id"])
        return None

    def open_foot(self, app_id: str, title: str) -> int:
        """A foot window with a unique app id; returns its con_id once it is mapped."""
        fifo = self.user.files / f"title-{app_id}"
        made = self.user.run(["mkfifo", str(fifo)])
        assert made.returncode == 0, made.stderr
        self._fifos[app_id] = fifo
        self.user.spawn(["foot", f"--app-id={app_id}", f"--title={title}", "--",
                         "sh", "-c", RETITLE_LOOP, "retitle", str(fifo)],
                        f"foot-{app_id}.log", env=self.env())
        return int(poll(lambda: self._con_id("app_id", app_id), f"foot window {app_id!r}"))

    def open_xterm(self, x_class: str, title: str) -> int:
        """An xterm through Xwayland (sway starts it on the first X client)."""
        assert "DISPLAY" in self.vars, "sway started without Xwayland"
        self.user.spawn(["xterm", "-class", x_class, "-T", title, "-e", "sleep", "100000"],
                        f"xterm-{x_class}.log", env=self.env())
        return int(poll(lambda: self._con_id("class", x_class), f"xterm window {x_class!r}",
                        timeout=60))

    def retitle(self, app_id: str, title: str) -> None:
        """The foot window `app_id` sets its title to `title` (OSC 2, as a shell does)."""
        with self._fifos[app_id].open("w", encoding="utf-8") as fifo:
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

