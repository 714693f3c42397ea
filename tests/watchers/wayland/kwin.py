"""A headless KWin session for tests: `kwin_wayland --virtual` with real clients.

KWin runs as the desktop user of a `UserSession` on that user's session bus, with the
virtual backend (no GPU, no seat, no logind) and QPainter software compositing. Two
things had to be found out to make it start in a container:

- Debian gives /usr/bin/kwin_wayland the file capability `cap_sys_resource=ep`. A
  container whose bounding set lacks CAP_SYS_RESOURCE cannot grant it, so exec fails
  with "Operation not permitted" (even as root). A copy of the binary carries no
  capability and runs; KWin only used it to raise its own resource limits.
- KWin starts the programs named after its options once Wayland and Xwayland are up,
  with DISPLAY set to its Xwayland display; a one-line script there tells the test which
  display KWin picked.

Clients: a small Qt window (native Wayland, retitled through its stdin; foot 1.13
crashes with SIGFPE on the virtual output's -1 x -1 mm size), `weston-terminal`
(native Wayland) and `xterm` (X11 through KWin's Xwayland). Focus and input are driven by
`kwin_driver.py`, which runs as the desktop user; KWin hands it the privileged
fake-input protocol because a .desktop file written here lists it for the interpreter
the driver runs with, which is how KDE authorises such programs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.watchers.wayland.harness import UserBenchDesktop, UserSession, poll

SOCKET = "wayland-kwin"
TOOLS = ("kwin_wayland", "weston-terminal", "xterm", "Xwayland", "gdbus")
FAKE_INPUT_XML = Path("/usr/share/plasma-wayland-protocols/fake-input.xml")
APT_HINT = ("scripts/test installs them: apt-get install kwin-wayland weston xterm "
            "xwayland libglib2.0-bin plasma-wayland-protocols")
XTERM_TITLE = 'printf "\\033]2;%s\\007" "$1"; exec sleep 100000'
KWIN_ENV = {
    "KWIN_COMPOSE": "Q",  # QPainter: software compositing, no OpenGL needed
    "QT_QPA_PLATFORM": "wayland",  # KWin's own internal windows
    "XDG_SESSION_TYPE": "wayland",
    "XDG_CURRENT_DESKTOP": "KDE",
    "KDE_FULL_SESSION": "true",
    "KDE_SESSION_VERSION": "5",
}


def kwin_tools_missing() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not FAKE_INPUT_XML.is_file():
        missing.append(str(FAKE_INPUT_XML))
    return missing


class KWinSession:
    """kwin_wayland and its clients as the desktop user of `session`."""

    def __init__(self, session: UserSession, *, lockscreen: bool = False) -> None:
        self.session = session
        self.lockscreen = lockscreen
        self.display = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._driver: KWinDriver | None = None
        self._qt_windows: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> KWinSession:
        missing = kwin_tools_missing()
        if missing:
            raise RuntimeError(f"missing for the KWin tests: {', '.join(missing)} ({APT_HINT})")
        if not self.session.bus_address:
            self.session.start_session_bus()
        self._authorise_fake_input()
        binary = self.session.files / "kwin_wayland"
        shutil.copyfile(shutil.which("kwin_wayland") or "", binary)
        binary.chmod(0o755)
        os.chown(binary, self.session.user.uid, self.session.user.gid)
        display_file = self.session.runtime_dir / "kwin-display"
        display_file.unlink(missing_ok=True)  # from a KWin this session ran before
        report = self.session.write_file(
            "report-display.sh", f'#!/bin/sh\nprintf %s "$DISPLAY" > {display_file}\n')
        report.chmod(0o755)
        argv = [str(binary), "--virtual", "--width", "1280", "--height", "800",
                "--socket", SOCKET, "--xwayland", "--no-global-shortcuts"]
        if not self.lockscreen:
            argv.append("--no-lockscreen")
        self.proc = self.session.spawn([*argv, str(report)], "kwin.log",
                                    env=self.session.env(**KWIN_ENV))
        self.display = poll(lambda: self._started(display_file), "KWin and its Xwayland")
        poll(lambda: self.bus_names_include("org.kde.KWin"), "org.kde.KWin on the bus")
        self._export_to_activated_services()
        return self

    def _export_to_activated_services(self) -> None:
        """What startplasma does: services the bus starts on demand (kactivitymanagerd, ...)
        get the session's display variables; without them they abort, and whoever
        waits for them (kded5's kconf_update run) hangs."""
        variables = {key: value for key, value in self.env().items()
                     if key in ("WAYLAND_DISPLAY", "DISPLAY", "XDG_SESSION_TYPE",
                                "XDG_CURRENT_DESKTOP", "KDE_FULL_SESSION")}
        done = self.session.run(
            ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
             "/org/freedesktop/DBus", "--method",
             "org.freedesktop.DBus.UpdateActivationEnvironment", json.dumps(variables)],
            env=self.env())
        assert done.returncode == 0, done.stderr

    def _started(self, display_file: Path) -> str:
        assert self.proc is not None
        if self.proc.poll() is not None:
            log = (self.session.logdir / "kwin.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"kwin_wayland exited with {self.proc.returncode}: {log}")
        return display_file.read_text() if display_file.exists() else ""

    def _authorise_fake_input(self) -> None:
        """KWin offers org_kde_kwin_fake_input to an executable whose .desktop file asks.

        KWin asks the first desktop entry whose Exec is that executable, and Debian's
        python3.11 package has one of its own; ours takes its desktop file id, so it
        shadows the system entry as a user's entry does.
        """
        interpreter = os.path.realpath(self.session.python({})[0][0])
        folder = self.session.home
        for part in (".local", "share", "applications"):
            folder = folder / part
            folder.mkdir(exist_ok=True)
            os.chown(folder, self.session.user.uid, self.session.user.gid)
        for name in _entries_running(interpreter) or ["aw-test-driver.desktop"]:
            entry = folder / name
            entry.write_text("[Desktop Entry]\nType=Application\nName=aw-reimpl test driver\n"
                             f"Exec={interpreter}\nNoDisplay=true\n"
                             "X-KDE-Wayland-Interfaces=org_kde_kwin_fake_input\n",
                             encoding="utf-8")
            os.chown(entry, self.session.user.uid, self.session.user.gid)

    def env(self, **extra: str) -> dict[str, str]:
        """What a program started inside this KDE session sees."""
        return self.session.env(WAYLAND_DISPLAY=SOCKET, DISPLAY=self.display,
                             XDG_SESSION_TYPE="wayland", XDG_CURRENT_DESKTOP="KDE",
                             KDE_FULL_SESSION="true", **extra)

    def bus_names_include(self, name: str) -> bool:
        done = self.session.run(["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus",
                              "--object-path", "/org/freedesktop/DBus", "--method",
                              "org.freedesktop.DBus.ListNames"], env=self.env())
        return f"'{name}'" in done.stdout

    # -- clients ------------------------------------------------------------------------

    def open_qt_window(self, title: str, app_id: str) -> None:
        """A native Wayland window whose title `retitle(app_id, ...)` changes later."""
        argv, env = self.session.python(self.env())
        self._qt_windows[app_id] = self.session.spawn(
            [*argv, "-m", "tests.watchers.wayland.qt_window", app_id, title],
            f"qt-{app_id}.log", env=env, stdin=subprocess.PIPE)
        self.wait_for_window(title)

    def retitle(self, app_id: str, title: str) -> None:
        stdin = self._qt_windows[app_id].stdin
        assert stdin is not None
        stdin.write(title.encode("utf-8") + b"\n")
        stdin.flush()

    def open_weston_terminal(self) -> str:
        """A second native Wayland client; returns its caption."""
        self.session.spawn(["weston-terminal", "--shell=/bin/sh"], "weston-terminal.log",
                        env=self.env())
        return self.wait_for_window("Wayland Terminal")

    def open_xterm(self, title: str, cls: str) -> None:
        """An X11 client, shown through KWin's Xwayland.

        The title is set the way a shell sets it (an OSC 2 sequence) with xterm's
        utf8Title on, so it is a UTF-8 _NET_WM_NAME. A title given with -T is only a
        COMPOUND_TEXT WM_NAME, which KWin 5.27 shows as an empty caption when it is not
        ASCII (what KWin shows is all any KDE window source can report).
        """
        self.session.spawn(["xterm", "-xrm", "*utf8Title: true", "-class", cls, "-e", "sh",
                            "-c", XTERM_TITLE, "xterm-title", title], f"xterm-{cls}.log",
                           env=self.env())
        self.wait_for_window(title)

    def wait_for_window(self, caption: str) -> str:
        def shown() -> bool:
            return any(w["caption"] == caption for w in self.driver.windows())

        poll(shown, f"a window titled {caption!r} in KWin")
        return caption

    # -- driving --------------------------------------------------------------------------

    def activate(self, caption: str) -> None:
        """Focus a window by its title, returning once KWin has activated it."""
        self.driver.activate(caption)

    @property
    def driver(self) -> KWinDriver:
        if self._driver is None:
            self._driver = KWinDriver(self)
        return self._driver

    def stop(self) -> None:
        """Stop the driver and KWin; the user session ends everything else."""
        if self._driver is not None:
            self._driver.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        self._remove_x_leftovers()

    def _remove_x_leftovers(self) -> None:
        """Xwayland's lock file and socket of our display, if KWin left them behind."""
        number = self.display.lstrip(":")
        if not number.isdigit():
            return
        for path in (Path(f"/tmp/.X{number}-lock"), Path(f"/tmp/.X11-unix/X{number}")):
            with contextlib.suppress(OSError):
                if path.lstat().st_uid == self.session.user.uid:
                    path.unlink()


def _entries_running(executable: str) -> list[str]:
    """Desktop file ids of the system's entries whose Exec is `executable`."""
    names = []
    for folder in (Path("/usr/local/share/applications"), Path("/usr/share/applications")):
        for entry in sorted(folder.glob("*.desktop")) if folder.is_dir() else []:
            for line in entry.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Exec=") and line[5:].split() and \
                        os.path.realpath(line[5:].split()[0]) == executable:
                    names.append(entry.name)
                    break
    return names


class KWinDriver:
    """The `kwin_driver.py` process of a session, one JSON command and answer at a time."""

    def __init__(self, kwin: KWinSession) -> None:
        argv, env = kwin.session.python(kwin.env())
        self.proc = kwin.session.spawn([*argv, "-m", "tests.watchers.wayland.kwin_driver"],
                                    "kwin-driver.log", env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
        self._read()  # the ready line

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the KWin test driver exited ({self.proc.poll()}); "
                               f"see kwin-driver.log")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"KWin test driver: {answer}")
        return answer

    def command(self, **command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()
        return self._read()

    def activate(self, caption: str) -> float:
        """Focus the window titled `caption`; returns when KWin activated it (epoch s)."""
        return float(self.command(do="activate", caption=caption)["at"])

    def windows(self) -> list[dict[str, str]]:
        windows: list[dict[str, str]] = self.command(do="windows")["windows"]
        return windows

    def script_loaded(self, name: str) -> bool:
        return bool(self.command(do="loaded", name=name)["loaded"])

    def input(self) -> float:
        """Synthetic pointer motion through KWin's fake-input protocol (epoch s)."""
        return float(self.command(do="input")["at"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class KWinBenchDesktop(UserBenchDesktop[KWinSession]):
    """KWin for bench/watcher_accuracy.py (`--backend kwin`): apps whose name contains
    "Term" are xterms through Xwayland, the others Qt windows (native Wayland); the
    watchers run as the desktop user."""

    folder = "kwin"

    @classmethod
    def start_compositor(cls, session: UserSession) -> KWinSession:
        return KWinSession(session).start()

    def describe(self) -> str:
        return f"headless kwin_wayland 5.27 (--virtual), Xwayland {self.compositor.display}"

    def open_window(self, app: str, title: str) -> str:
        if "Term" in app:
            self.compositor.open_xterm(title, app)
        else:
            self.compositor.open_qt_window(title, app)
        return title

    def stop_compositor(self) -> None:
        self.compositor.stop()
