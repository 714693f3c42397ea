"""A headless GNOME Shell (Mutter) session for the tests, run as the harness's desktop user.

What it takes to start `gnome-shell --headless --wayland` in a container, as found by
running it (Debian 12, GNOME Shell 43.9):
- a session bus (the harness's), for the shell's own services and the extensions;
- a *system* bus: at start-up the shell builds its login-manager proxies on it (and
  gives up with "Could not connect: No such file or directory" without one). The
  systemd branch is taken because /run/systemd/seats exists wherever the systemd
  package is installed, logind or not. A private `dbus-daemon` with our own permissive
  config, passed in DBUS_SYSTEM_BUS_ADDRESS, is enough: nothing needs to answer there
  (logind, polkit, accounts, GDM are simply absent and the shell carries on); the one
  trap is a policy without `receive_sender`, which makes the shell wait forever for
  the bus's own replies;
- nothing for rendering: Mutter picks a surfaceless software renderer by itself.
Without `--no-x11` Mutter also starts Xwayland (its log names the display) with an
Xauthority file in the runtime dir, so X11 clients can join.

Extensions are found only when the shell starts, so tests install them first (the
product's through aw-qt's own installer) and restart the shell to "log in again".
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.watchers.wayland.harness import (
    REPO,
    UserBenchDesktop,
    UserSession,
    poll,
)
from tests.watchers.wayland.sway import RETITLE_LOOP

SHELL_VERSION_WAIT = 60.0
HELPER_UUID = "test-helper@aw-reimpl.github.io"
HELPER_DIR = Path(__file__).resolve().parent / "gnome_helper"
HELPER = ("io.github.aw_reimpl.TestHelper", "/io/github/aw_reimpl/TestHelper",
          "io.github.aw_reimpl.TestHelper")
IDLE_MONITOR = ("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core",
                "org.gnome.Mutter.IdleMonitor")
TOOLS = ("gnome-shell", "dbus-daemon", "gnome-extensions", "gsettings", "foot",
         "weston-terminal", "xterm", "Xwayland")

SYSTEM_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*" eavesdrop="true"/>
  </policy>
</busconfig>
"""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def ensure_x11_socket_dir() -> None:
    """/tmp/.X11-unix as a booted system has it (root's, sticky, world-writable).

    A fresh container may not have it; Mutter, running as the desktop user, would then
    create it itself with that user's umask, and X servers of other users could not put
    their sockets there.
    """
    path = Path("/tmp/.X11-unix")
    if not path.exists() and os.geteuid() == 0:
        path.mkdir(exist_ok=True)
        path.chmod(0o1777)


class DBusDriver:
    """`gnome_driver.py` running as the desktop user: calls and signals on their bus."""

    def __init__(self, session: UserSession) -> None:
        argv, env = session.python(session.env())
        env.setdefault("PYTHONPATH", str(REPO))
        self.proc = session.spawn([*argv, "-m", "tests.watchers.wayland.gnome_driver"],
                                  "gnome-driver.log", env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the D-Bus driver died; see gnome-driver.log")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, target: tuple[str, str, str], method: str, signature: str = "",
             *args: Any) -> list[Any]:
        """The reply body; raises RuntimeError naming the D-Bus error."""
        answer = self._ask({"call": [*target, method, signature, list(args)]})
        if "error" in answer:
            raise RuntimeError(answer["message"])
        result: list[Any] = answer["ok"]
        return result

    def try_call(self, target: tuple[str, str, str], method: str, signature: str = "",
                 *args: Any) -> dict[str, Any]:
        return self._ask({"call": [*target, method, signature, list(args)]})

    def listen(self, **match: str) -> None:
        self._ask({"listen": match})

    def signals(self) -> list[tuple[str, list[Any]]]:
        return [(member, body) for member, body in self._ask({"signals": None})["ok"]]

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class GnomeShell:
    """The shell, its private system bus, its clients and the D-Bus driver."""

    def __init__(self, session: UserSession) -> None:
        self.session = session
        self.proc: subprocess.Popen[bytes] | None = None
        self.x_display = ""
        self.starts = 0
        self.driver: DBusDriver | None = None
        self._fifos: dict[str, Path] = {}
        if not session.bus_address:
            session.start_session_bus()
        self.system_bus = self._start_system_bus()

    def _start_system_bus(self) -> str:
        socket = self.session.runtime_dir / "system_bus_socket"
        config = self.session.write_file(
            "system-bus.conf", SYSTEM_BUS_CONFIG.format(socket=socket))
        self.session.spawn(["dbus-daemon", f"--config-file={config}", "--nofork",
                            "--nopidfile"], "dbus-system.log")
        poll(socket.exists, "the private system bus socket")
        return f"unix:path={socket}"

    # -- environment ---------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """What a program started inside this GNOME session sees."""
        env = self.session.env(XDG_SESSION_TYPE="wayland", XDG_CURRENT_DESKTOP="GNOME",
                               XDG_SESSION_DESKTOP="gnome",
                               DBUS_SYSTEM_BUS_ADDRESS=self.system_bus)
        if self.proc is not None:
            env["WAYLAND_DISPLAY"] = "wayland-0"
            if self.x_display:
                env["DISPLAY"] = self.x_display
                env["XAUTHORITY"] = self.xauthority()
        env.update(extra)
        return env

    def xauthority(self) -> str:
        found = glob.glob(str(self.session.runtime_dir / ".mutter-Xwaylandauth.*"))
        return found[0] if found else ""

    @property
    def log_name(self) -> str:
        return f"gnome-shell-{self.starts}.log"

    # -- the shell ------------------------------------------------------------------------

    def start(self, *, x11: bool = True) -> GnomeShell:
        """Start (log in); returns once the shell answers on the bus and Xwayland is up."""
        assert self.proc is None, "already running"
        if x11:
            ensure_x11_socket_dir()
        self.starts += 1
        argv = ["gnome-shell", "--headless", "--wayland", "--virtual-monitor", "1280x800"]
        if not x11:
            argv.insert(3, "--no-x11")
        self.proc = self.session.spawn(argv, self.log_name, self.env())
        self.driver = self.driver or DBusDriver(self.session)
        poll(lambda: self._answers() or self._died(), "GNOME Shell on the session bus",
             SHELL_VERSION_WAIT)
        if self.proc.poll() is not None:
            raise RuntimeError(f"gnome-shell exited {self.proc.returncode}: {self.log_tail()}")
        if x11:
            self.x_display = poll(self._xwayland_display, "Xwayland's display in the log")
            poll(self.xauthority, "the Xwayland authority file")
        return self

    def _answers(self) -> bool:
        assert self.driver is not None
        answer = self.driver.try_call(("org.gnome.Shell", "/org/gnome/Shell",
                                       "org.freedesktop.DBus.Properties"), "Get", "ss",
                                      "org.gnome.Shell", "ShellVersion")
        return "ok" in answer

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def _xwayland_display(self) -> str:
        match = re.search(r"Using public X11 display (:\d+)", self.log_tail(100_000))
        return match.group(1) if match else ""

    def log_tail(self, chars: int = 4000) -> str:
        path = self.session.logdir / self.log_name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        """Log out: end the shell (its Xwayland and clients' connections go with it)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        self.x_display = ""

    def restart(self) -> GnomeShell:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        if self.driver is not None:
            self.driver.close()

    # -- extensions ------------------------------------------------------------------------

    def install_helper(self) -> None:
        """The test-only helper extension, copied and enabled as a user would."""
        target = self.session.home / ".local/share/gnome-shell/extensions" / HELPER_UUID
        target.mkdir(parents=True, exist_ok=True)
        for item in HELPER_DIR.iterdir():
            shutil.copyfile(item, target / item.name)
        self.give_home()
        result = self.session.run(["gnome-extensions", "enable", HELPER_UUID], self.env())
        assert result.returncode == 0, result.stderr

    def give_home(self) -> None:
        """Files the tests put into the user's HOME must belong to that user."""
        user = self.session.user
        for path in [self.session.home, *self.session.home.rglob("*")]:
            shutil.chown(path, user.uid, user.gid)

    def run_as_user(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """This checkout's Python as the desktop user inside the session (`-m module ...`)."""
        prefix, env = self.session.python(self.env())
        return self.session.run([*prefix, *argv], env, timeout=60)

    # -- windows and input ---------------------------------------------------------------

    def open_foot(self, title: str, app_id: str) -> None:
        """A foot window that can be retitled later (`retitle`), as a shell retitles it."""
        fifo = self.session.files / f"title-{len(self._fifos)}"
        made = self.session.run(["mkfifo", str(fifo)])
        assert made.returncode == 0, made.stderr
        self.session.spawn(["foot", "--title", title, "--app-id", app_id, "--", "sh", "-c",
                            RETITLE_LOOP, "retitle", str(fifo)], f"foot-{app_id}.log",
                           self.env())
        self._fifos[title] = fifo
        self.wait_for_window(title)

    def retitle(self, title: str, new_title: str) -> None:
        """The foot window opened as `title` sets its title (OSC 2) to `new_title`."""
        with self._fifos[title].open("w", encoding="utf-8") as fifo:
            fifo.write(new_title + "\n")

    def open_weston_terminal(self) -> str:
        """weston-terminal names itself; returns the title it shows."""
        self.session.spawn(["weston-terminal", "--shell=/bin/sh"], "weston-terminal.log",
                           self.env(SHELL="/bin/sh"))
        title = str(poll(lambda: next((w["title"] for w in self.windows()
                                       if "weston" in w["wm_class"]), ""),
                         "the weston-terminal window"))
        self.wait_for_window(title)
        return title

    def open_xterm(self, title: str, cls: str) -> None:
        """An X11 client, through Xwayland."""
        env = self.env()
        env.pop("WAYLAND_DISPLAY")
        self.session.spawn(["xterm", "-T", title, "-class", cls, "-e", "sleep", "3600"],
                           f"xterm-{cls}.log", env)
        self.wait_for_window(title)

    def windows(self) -> list[dict[str, Any]]:
        assert self.driver is not None
        listed: list[dict[str, Any]] = json.loads(self.driver.call(HELPER, "Windows")[0])
        return listed

    def focused_titles(self) -> list[str]:
        return [w["title"] for w in self.windows() if w["focused"]]

    def wait_for_window(self, title: str) -> None:
        """Until the new window is mapped and holds the focus it was given.

        A headless stage repaints only when something is damaged, and Mutter finishes
        mapping a new window (and hands it the focus, except the very first one) in work
        it does before a repaint. Until then the window is listed but not shown, and
        focusing another one is undone once it is. So the stage is asked to repaint,
        and the window is focused until it keeps the focus.
        """
        assert self.driver is not None
        driver = self.driver

        def settled() -> bool:
            driver.call(HELPER, "Redraw")
            if not any(w["title"] == title and not w["hidden"] for w in self.windows()):
                return False
            driver.call(HELPER, "Activate", "s", title)
            time.sleep(0.2)
            return self.focused_titles() == [title]

        poll(settled, f"window {title!r} mapped and focused")

    def activate(self, title: str) -> None:
        assert self.driver is not None
        assert self.driver.call(HELPER, "Activate", "s", title) == [True], title

    def move_pointer(self) -> None:
        """Input as a user's mouse makes it: resets Mutter's idle time."""
        assert self.driver is not None
        self.driver.call(HELPER, "MovePointer")

    def press_return(self) -> None:
        """The Return key, to the focused window (a dialog's default button)."""
        assert self.driver is not None
        self.driver.call(HELPER, "PressReturn")

    def idle_ms(self) -> int:
        assert self.driver is not None
        return int(self.driver.call(IDLE_MONITOR, "GetIdletime")[0])


class GnomeBenchDesktop(UserBenchDesktop[GnomeShell]):
    """GNOME Shell for bench/watcher_accuracy.py (`--backend gnome`): our extension
    installed by aw-qt's installer before login, apps whose name contains "Term" as
    xterms through Xwayland, the others as foot windows; the watchers run as the
    desktop user."""

    folder = "gnome"

    @classmethod
    def start(cls, workdir: Path) -> GnomeBenchDesktop:
        missing = missing_tools()
        if missing:
            raise RuntimeError(f"missing tools: {', '.join(missing)}")
        return super().start(workdir)

    @classmethod
    def start_compositor(cls, session: UserSession) -> GnomeShell:
        shell = GnomeShell(session)
        shell.install_helper()
        installed = shell.run_as_user("-m", "aw_qt", "--install-gnome-extension")
        if installed.returncode != 0:
            raise RuntimeError(installed.stdout + installed.stderr)
        return shell.start()

    def describe(self) -> str:
        return f"headless gnome-shell, Xwayland {self.compositor.x_display}"

    def open_window(self, app: str, title: str) -> str:
        if "Term" in app:
            self.compositor.open_xterm(title, app)
        else:
            self.compositor.open_foot(title, app)
        return title

    def stop_compositor(self) -> None:
        self.compositor.close()
