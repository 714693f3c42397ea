"""A private desktop user's session for Wayland tests: user, runtime dir, session bus.

Wayland compositors refuse to run as root (sway: "Unable to drop root") and a D-Bus
session bus only lets its own user in, so every test compositor, its clients, the bus
and the watchers under test run as one unprivileged user, exactly as on a real desktop.
Only the server the watchers report to runs as the test process (over loopback TCP).

When the tests already run as an ordinary user, that user is the desktop user; as
root, a dedicated account is created once (`useradd`) and reused.

Files the desktop user must reach (its runtime dir, HOME, config files) live in a
directory of their own under /tmp, because pytest's tmp_path is private to root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from tests.watchers.processes import WatcherProcess

REPO = Path(__file__).resolve().parents[3]
TEST_USER = "aw-wayland-test"
WAIT = 30.0


@dataclass(frozen=True)
class DesktopUser:
    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.getuid()


def desktop_user() -> DesktopUser:
    """The account the desktop runs as: this one, or (as root) a dedicated test user."""
    if os.getuid() != 0:
        entry = pwd.getpwuid(os.getuid())
        return DesktopUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "--user-group", TEST_USER], check=True, timeout=30)
        entry = pwd.getpwnam(TEST_USER)
    return DesktopUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def poll(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Wait for `predicate` to return something true; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _python_for(user: DesktopUser) -> tuple[list[str], dict[str, str]]:
    """An interpreter the desktop user can run that imports this checkout and its venv.

    The venv's interpreter is often a link into root's private home (pyenv); then the
    same Python minor version from the system, given the venv's site-packages and the
    repository on PYTHONPATH, runs the very same code and compiled extensions.
    """
    if user.is_current or _readable_by_others(Path(sys.executable).resolve()):
        return [sys.executable], {}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(f"python{version}", path="/usr/local/bin:/usr/bin:/bin")
    if system is None:
        raise RuntimeError(f"the desktop user cannot run {sys.executable} and there is "
                           f"no system python{version}")
    site_packages = sysconfig.get_paths()["purelib"]
    return [system, "-s"], {"PYTHONPATH": os.pathsep.join([str(REPO), site_packages])}


def _readable_by_others(path: Path) -> bool:
    """True when every directory up to `path` lets other users through."""
    return all(os.stat(part).st_mode & 0o001 for part in [*reversed(path.parents), path])


@dataclass
class UserSession:
    """One desktop user's session: a private runtime dir and HOME, a session bus."""

    logdir: Path
    user: DesktopUser = field(default_factory=desktop_user)
    root: Path = field(init=False)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    bus_address: str = ""

    def __post_init__(self) -> None:
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="aw-wayland-"))
        for sub in ("run", "home", "files"):
            (self.root / sub).mkdir(mode=0o700)
        self._give(self.root, 0o711)
        for sub in ("run", "home", "files"):
            self._give(self.root / sub, 0o700)

    def _give(self, path: Path, mode: int) -> None:
        os.chown(path, self.user.uid, self.user.gid)
        path.chmod(mode)

    @property
    def runtime_dir(self) -> Path:
        return self.root / "run"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def files(self) -> Path:
        """A folder the desktop user owns, for configs, scripts and data of a test."""
        return self.root / "files"

    def write_file(self, name: str, text: str) -> Path:
        path = self.files / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        for part in [path, *path.parents]:
            if part == self.files:
                break
            os.chown(part, self.user.uid, self.user.gid)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        """A clean login-like environment of the desktop user; `extra` overrides."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "USER": self.user.name,
            "LOGNAME": self.user.name,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "PYTHONUNBUFFERED": "1",
        }
        if self.bus_address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        env.update(extra)
        return env

    def spawn(self, argv: list[str], log: str, env: dict[str, str] | None = None,
              **popen: Any) -> subprocess.Popen[bytes]:
        """Start `argv` as the desktop user in its own process group, output to `log`."""
        with (self.logdir / log).open("ab") as out:
            proc = subprocess.Popen(
                argv, env=self.env() if env is None else env, cwd=self.home,
                stdout=popen.pop("stdout", out), stderr=popen.pop("stderr", out),
                user=None if self.user.is_current else self.user.uid,
                group=None if self.user.is_current else self.user.gid,
                extra_groups=None if self.user.is_current else [],
                start_new_session=True, **popen)
        self.procs.append(proc)
        return proc

    def run(self, argv: list[str], env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a short command as the desktop user and return its output."""
        return subprocess.run(
            argv, env=self.env() if env is None else env, cwd=self.home,
            capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
            user=None if self.user.is_current else self.user.uid,
            group=None if self.user.is_current else self.user.gid,
            extra_groups=None if self.user.is_current else [])

    def python(self, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """(argv prefix, env) to run this checkout's Python code as the desktop user."""
        argv, extra = _python_for(self.user)
        return argv, {**env, **extra}

    def start_session_bus(self) -> str:
        """A private session bus for this desktop user; returns (and keeps) its address."""
        socket = self.runtime_dir / "bus"
        address = f"unix:path={socket}"
        self.spawn(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                    f"--address={address}"], "dbus-session.log")
        poll(socket.exists, "the session bus socket")
        self.bus_address = address
        return address

    def stop(self) -> None:
        """End every process this session started (whole process groups), newest first."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)


class DesktopWatcher(WatcherProcess):
    """A real watcher run as the desktop user inside `session`, as the desktop starts it.

    `env` is the session's environment (WAYLAND_DISPLAY and friends); the watcher's
    ActivityWatch folders go to a folder the desktop user owns.
    """

    def __init__(self, session: UserSession, kind: str, args: list[str],
                 env: dict[str, str], log: Path) -> None:
        # Its own folders per log file, so no queue is left over from another test.
        base = session.files / f"aw-{log.parent.name}-{log.stem}"
        env = {**env, "AW_BASE_DIR": str(base), "PYTHONUNBUFFERED": "1"}
        super().__init__(kind, args, env, log)
        self.session = session

    def _launch(self) -> threading.Thread:
        self.lines = []
        prefix, env = self.session.python(self.env)
        self.proc = self.session.spawn(  # type: ignore[assignment]
            [*prefix, "-m", f"watchers.{self.kind}", *self.args], f"{self.kind}.out",
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        return reader

    def start(self, ready: str = "started") -> DesktopWatcher:
        self._launch()
        poll(lambda: self.saw(ready) or self.proc is None or self.proc.poll() is not None,
             f"{self.kind} to log {ready!r}")
        assert self.proc is not None and self.proc.poll() is None, self.output()
        return self

    def run_to_exit(self, timeout: float = 60) -> int:
        """Run a watcher that is expected to exit by itself; its exit code."""
        reader = self._launch()
        assert self.proc is not None
        code = self.proc.wait(timeout)
        reader.join(10)
        return code


def aw_qt_base_dir(session: UserSession, name: str) -> Path:
    """An `AW_BASE_DIR` for `aw-qt --testing` run as the desktop user, its first-start
    welcome already shown: the welcome is a window of its own and, on a Wayland desktop,
    would take the focus a test scripts (tests of the welcome itself run on X11)."""
    session.write_file(f"{name}/data/aw-qt/aw-qt-testing.welcomed", "shown by the test\n")
    return session.files / name


class DesktopEnv(Protocol):
    def env(self, **extra: str) -> dict[str, str]: ...


def spawn_aw_qt(session: UserSession, desktop: DesktopEnv, port: int, *args: str,
                log: str = "aw-qt.log", folder: str = "aw") -> subprocess.Popen[bytes]:
    """The real aw-qt (`--testing`, its embedded server on `port`) as the desktop user,
    a Wayland client of `desktop`, with its folders under `folder` (`aw_qt_base_dir`)."""
    prefix, env = session.python(desktop.env(
        QT_QPA_PLATFORM="wayland", AW_BASE_DIR=str(aw_qt_base_dir(session, folder))))
    env.setdefault("PYTHONPATH", str(REPO))
    return session.spawn([*prefix, "-m", "aw_qt", "--testing", "--port", str(port), *args],
                         log, env)


class Compositor(Protocol):
    """What a bench desktop needs of its compositor session (sway, KWin, GNOME Shell)."""

    def env(self, **extra: str) -> dict[str, str]: ...

    def activate(self, window: Any) -> Any: ...


C = TypeVar("C", bound=Compositor)


class UserBenchDesktop(Generic[C]):
    """A Wayland desktop for bench/watcher_accuracy.py, run as the desktop user: its
    session, its compositor, and the watchers started inside it. A subclass says how
    its compositor starts and how a window of an app is opened."""

    folder: ClassVar[str]  # the session's folder under the bench's workdir

    def __init__(self, session: UserSession, compositor: C) -> None:
        self.session = session
        self.compositor = compositor
        self.description = self.describe()

    @classmethod
    def start(cls, workdir: Path) -> Self:
        session = UserSession(workdir / cls.folder)
        try:
            return cls(session, cls.start_compositor(session))
        except BaseException:
            session.stop()
            raise

    @classmethod
    def start_compositor(cls, session: UserSession) -> C:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def activate(self, window: Any) -> None:
        self.compositor.activate(window)

    def watcher(self, kind: str, args: list[str], log: Path) -> DesktopWatcher:
        return DesktopWatcher(self.session, kind, args, self.compositor.env(), log)

    def stop_compositor(self) -> None:
        """Before the session ends (which ends every process of the desktop user)."""

    def stop(self) -> None:
        self.stop_compositor()
        self.session.stop()
