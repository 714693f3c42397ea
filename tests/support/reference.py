"""Tooling to run the real ActivityWatch Python server (aw-server 0.12.0) as a test oracle.

Our product re-implements ActivityWatch and must stay wire-compatible with it.  The only
trustworthy way to know what "compatible" means is to ask the original, so tests and
benchmarks start the real aw-server from PyPI and compare answers.  The original packages
pin old Flask/Werkzeug/peewee versions that conflict with ours, and they must never leak
into the product, so they live in a *separate* virtualenv that is built once and reused:

* :func:`ensure_reference_venv` builds (or reuses) that venv, guarded by a lock file so
  parallel pytest workers or a bench run in another shell do not race on ``pip``.
* :func:`start_reference_server` runs aw-server from that venv as a subprocess on a free
  loopback port, with every XDG directory redirected below a caller-owned ``data_root``
  so it can never read or write the developer's real ActivityWatch data.
* :func:`run_in_reference_venv` runs a Python snippet with that venv's interpreter so a
  test can drive the real ``aw-client`` library against any server (ours included).

This module deliberately depends only on the standard library: it is imported by the
benchmark scripts as well as by pytest.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "REFERENCE_PINS",
    "ReferenceServer",
    "ReferenceServerError",
    "ReferenceToolError",
    "ReferenceVenvError",
    "ensure_reference_venv",
    "find_free_port",
    "reference_python",
    "run_in_reference_venv",
    "start_reference_server",
    "stop_process",
]

#: Requirement specifiers installed into the reference venv.
#:
#: * ``aw-server==0.12.0`` is the version we mimic.
#: * ``peewee<4``: with peewee 4 (what pip picks unpinned) every bucket call answers 500:
#:   aw-core hands ``created`` (now returned as a datetime) to ``iso8601.parse_date``.
#: * ``flask<2.3``: aw-server 0.12.0 was built against Flask 2.2 and installs its JSON
#:   encoder through ``app.json_encoder``, which Flask 2.3 no longer consults.  (Observed:
#:   with peewee pinned, Flask 2.3.3 still answered the bucket/event/export endpoints; the
#:   pin keeps the era-correct stack so custom-encoded values such as ``timedelta`` in
#:   query results behave as they did for real users.)
#: * ``werkzeug>=2.3.3,<3``: aw-server 0.12.0 itself requires ``werkzeug>=2.3.3,<3`` (so
#:   the often-suggested ``werkzeug<2.3`` is unsatisfiable); 2.3.x works with Flask 2.2.
#: * ``aw-client==0.5.15`` is the newest 0.5 release; it needs ``aw-core>=0.5.16``.
#: * ``aw-core==0.5.18`` is pinned so the oracle cannot drift when aw-core releases again
#:   (0.5.18 is what the resolver picked when this tooling was written).
REFERENCE_PINS: tuple[str, ...] = (
    "aw-server==0.12.0",
    "aw-client==0.5.15",
    "aw-core==0.5.18",
    "peewee>=3.17,<4",
    "flask>=2.2,<2.3",
    "werkzeug>=2.3.3,<3",
)

#: Distributions whose installed versions are recorded in the marker file.
_RECORDED_DISTS: tuple[str, ...] = (
    "aw-server",
    "aw-client",
    "aw-core",
    "peewee",
    "flask",
    "werkzeug",
    "flask-restx",
    "flask-cors",
)

_MARKER_NAME = "aw-reimpl-reference.json"
_MARKER_FORMAT = 1
_PIP_TIMEOUT_S = 900.0
_LOCK_TIMEOUT_S = 1200.0
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
_FORBIDDEN_PORTS = frozenset({5600, 5666})
_LOG_TAIL_LINES = 40


class ReferenceToolError(RuntimeError):
    """Base class for reference-tooling failures (kept distinct from product errors)."""


class ReferenceVenvError(ReferenceToolError):
    """The reference venv could not be created or pip failed to install the pins."""


class ReferenceServerError(ReferenceToolError):
    """aw-server did not come up (or misbehaved); the message carries its log tail."""


# --------------------------------------------------------------------------- venv


#: Default venv location, fixed at import time on purpose: test fixtures point
#: ``XDG_CACHE_HOME``/``HOME`` at temp dirs, and following them would rebuild the venv
#: (~20 s of pip) inside every test's temp dir.
_DEFAULT_VENV_DIR = Path.home() / ".cache" / "aw-reimpl" / "reference-venv"


def _default_venv_dir() -> Path:
    """``$AW_REFERENCE_VENV`` if set (CI can cache it elsewhere), else the fixed default."""
    override = os.environ.get("AW_REFERENCE_VENV")
    if override:
        return Path(override).expanduser().resolve()
    return _DEFAULT_VENV_DIR


def reference_python(venv_dir: Path | None = None) -> Path:
    """Path of the interpreter inside the reference venv (not checked for existence)."""
    venv = venv_dir if venv_dir is not None else _default_venv_dir()
    return venv / "bin" / "python"


def _read_marker(venv_dir: Path) -> dict[str, object] | None:
    """Return the marker contents if they describe a complete install of the current pins."""
    marker = venv_dir / _MARKER_NAME
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict):
        return None
    if content.get("format") != _MARKER_FORMAT or content.get("pins") != list(REFERENCE_PINS):
        return None
    if not reference_python(venv_dir).exists():
        return None
    return content


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    """Last ``lines`` lines of ``text``: enough context for an exception message."""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an advisory ``flock`` so only one process builds the venv at a time.

    ``flock`` is released by the kernel if the holder dies, so a crashed build never
    leaves a stale lock behind (unlike a create-exclusive marker file).
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ReferenceVenvError(
                        f"timed out after {timeout_s:.0f}s waiting for {lock_path}"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _base_python() -> str:
    """Interpreter used to create the venv: the one running us (its base, if in a venv)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _run_checked(cmd: list[str], what: str, timeout_s: float) -> None:
    """Run ``cmd``; turn any failure into a :class:`ReferenceVenvError` with output tail."""
    try:
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            check=False,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        raise ReferenceVenvError(f"{what} timed out after {timeout_s:.0f}s: {cmd}") from exc
    except OSError as exc:
        raise ReferenceVenvError(f"{what} could not run: {exc}") from exc
    if proc.returncode != 0:
        # pip on some mirrors prints one "Location ... is ignored" warning per package;
        # drop that noise so the tail shows the actual resolver error.
        output = "\n".join(
            line for line in proc.stdout.splitlines() if not line.startswith("WARNING: Location")
        )
        raise ReferenceVenvError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{_tail(output)}"
        )


def _installed_versions(venv_dir: Path) -> dict[str, str]:
    """Ask the venv itself which versions ended up installed (for the marker)."""
    snippet = (
        "import json, sys\n"
        "from importlib.metadata import version, PackageNotFoundError\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        out[name] = version(name)\n"
        "    except PackageNotFoundError:\n"
        "        out[name] = None\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [str(reference_python(venv_dir)), "-I", "-c", snippet, *_RECORDED_DISTS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise ReferenceVenvError(f"cannot read installed versions:\n{_tail(proc.stderr)}")
    versions = json.loads(proc.stdout)
    missing = [name for name, ver in versions.items() if ver is None]
    if missing:
        raise ReferenceVenvError(f"reference venv is missing {missing} after pip install")
    return {str(k): str(v) for k, v in versions.items()}


def _smoke_import(venv_dir: Path) -> None:
    """Import the server and client once so a broken combination fails at build time."""
    _run_checked(
        [str(reference_python(venv_dir)), "-I", "-c", "import aw_server.server, aw_client"],
        "importing aw_server/aw_client in the reference venv",
        timeout_s=120,
    )


def ensure_reference_venv(venv_dir: Path | None = None) -> Path:
    """Return the reference venv directory, building it on first use.

    The venv lives at ``$AW_REFERENCE_VENV`` (default ``~/.cache/aw-reimpl/reference-venv``)
    and is shared by every checkout and test run on the machine, because installing
    ~40 packages takes far longer than any single test.  A marker file written *after* a
    successful install (and checked against :data:`REFERENCE_PINS`) makes later calls
    return immediately; a half-built venv without a marker is wiped and rebuilt.

    Raises :class:`ReferenceVenvError` with pip's output tail if anything fails.
    """
    venv = venv_dir if venv_dir is not None else _default_venv_dir()
    if _read_marker(venv) is not None:
        return venv
    lock_path = venv.parent / (venv.name + ".lock")
    with _exclusive_lock(lock_path, _LOCK_TIMEOUT_S):
        # Another process may have finished the build while we waited for the lock.
        if _read_marker(venv) is not None:
            return venv
        if venv.exists():
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        _run_checked([_base_python(), "-m", "venv", str(venv)], "creating the venv", timeout_s=300)
        _run_checked(
            [
                str(reference_python(venv)),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                *REFERENCE_PINS,
            ],
            "pip install of the reference packages",
            timeout_s=_PIP_TIMEOUT_S,
        )
        _smoke_import(venv)
        marker = {
            "format": _MARKER_FORMAT,
            "pins": list(REFERENCE_PINS),
            "installed": _installed_versions(venv),
            "python": _base_python(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp = venv / (_MARKER_NAME + ".tmp")
        tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        tmp.replace(venv / _MARKER_NAME)
    return venv


def reference_versions(venv_dir: Path | None = None) -> dict[str, str]:
    """Installed versions recorded in the marker (builds the venv if needed)."""
    venv = ensure_reference_venv(venv_dir)
    marker = _read_marker(venv) or {}
    installed = marker.get("installed", {})
    return {str(k): str(v) for k, v in installed.items()} if isinstance(installed, dict) else {}


def run_in_reference_venv(
    script: str,
    *args: str,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    venv_dir: Path | None = None,
    data_root: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the Python source ``script`` with the reference venv's interpreter.

    ``args`` become ``sys.argv[1:]`` (pass the server URL this way).  Output is captured
    as text.  Used to drive the genuine ``aw-client`` against our server, which proves
    compatibility with the library real watchers use.  With ``check=True`` a non-zero
    exit raises :class:`subprocess.CalledProcessError` (stderr attached).  The interpreter
    runs with ``-I`` (isolated mode): neither the cwd nor ``PYTHONPATH`` can put *our*
    ``aw_server`` package in front of the real one.

    aw-client writes a config file and a persistent request queue under the XDG dirs, so
    they point below ``data_root`` (a throw-away temp dir when not given): a script can
    never write into the developer's real ActivityWatch folders.  Variables in ``env``
    are applied last, so a caller's own ``XDG_*`` choice is respected.
    """
    venv = ensure_reference_venv(venv_dir)
    with contextlib.ExitStack() as stack:
        if data_root is None:
            data_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aw-ref-")))
        full_env = isolated_env(data_root)
        full_env.update(env or {})  # an explicit caller setting (e.g. XDG_*) still wins
        return subprocess.run(
            [str(reference_python(venv)), "-I", "-c", script, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=check,
        )


# --------------------------------------------------------------------------- server


def find_free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on ``host``, never ActivityWatch's 5600/5666.

    The socket is closed before the server binds, so another process could grab the port
    in between; :func:`start_reference_server` retries a bounded number of times if so.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in _FORBIDDEN_PORTS:
            return port
    raise ReferenceServerError("could not find a free port")  # pragma: no cover


def isolated_env(data_root: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment whose XDG dirs (and HOME) point below ``data_root``.

    platformdirs on Linux derives data/config/cache/state dirs from these variables, so
    a server started with this environment cannot see the user's real ActivityWatch
    data.  ``AW_PROFILE`` is removed because aw-core >= 0.5.18 changes directory names
    when it is set.  Shared by the reference server, our server and the benchmarks.
    """
    env = dict(os.environ if base is None else base)
    env.pop("AW_PROFILE", None)
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_RUNTIME_DIR", "runtime"),
    ):
        path = data_root / sub
        path.mkdir(parents=True, exist_ok=True)
        if sub == "runtime":
            path.chmod(0o700)
        env[var] = str(path)
    env["HOME"] = str(data_root / "home")
    (data_root / "home").mkdir(parents=True, exist_ok=True)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = _STOP_TIMEOUT_S) -> int | None:
    """Stop ``proc`` by PID: SIGTERM, wait up to ``timeout_s``, then SIGKILL.

    Returns the exit code (negative signal number if killed by a signal), or ``None``
    if even SIGKILL did not reap it within the timeout (should not happen).
    """
    if proc.poll() is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed child always dies
        return None


def read_log_tail(log_path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """Tail of a server log for error messages; empty string if it does not exist."""
    try:
        return _tail(log_path.read_text(encoding="utf-8", errors="replace"), lines)
    except OSError:
        return ""


def spawn_logged(cmd: list[str], log_path: Path, *, env: Mapping[str, str], cwd: Path,
                 append: bool = False) -> subprocess.Popen[bytes]:
    """Start a server with stdout and stderr in `log_path` (appended to with `append`, so
    restarts keep one history) and in its own session, so a Ctrl-C in the terminal
    reaches the test run only and the server is stopped in order."""
    with open(log_path, "ab" if append else "wb") as log:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=str(cwd),
                                start_new_session=True)


def wait_for_http(
    url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float = _START_TIMEOUT_S
) -> dict[str, object]:
    """Poll ``GET url`` until it answers 200 with JSON, the process dies, or the deadline.

    Returns the decoded JSON body.  Polling (with a short back-off) rather than a fixed
    sleep keeps fast starts fast and slow machines working.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ReferenceServerError(
                f"server exited with code {proc.returncode} before answering {url}\n"
                f"--- log tail ({log_path}) ---\n{read_log_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2.0) as resp:
                body = json.loads(resp.read().decode("utf-8"))
                if resp.status == 200 and isinstance(body, dict):
                    return body
                last_error = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = repr(exc)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise ReferenceServerError(
        f"{url} did not answer within {timeout_s:.0f}s (last error: {last_error})\n"
        f"--- log tail ({log_path}) ---\n{read_log_tail(log_path)}"
    )


_RUNNING: set[ReferenceServer] = set()


@dataclass(eq=False)
class ServerSubprocess:
    """A server running as a subprocess of ours, ActivityWatch's or our own.

    The benchmarks (`bench/_util.py`'s `OurServer`) and the reference tooling start
    both sides the same careful way (own dirs, own session, log to a file) and need
    the same of them: URL, pid, liveness, log tail, a bounded stop.
    """

    process: subprocess.Popen[bytes]
    port: int
    data_root: Path
    log_path: Path
    host: str = field(default="127.0.0.1", kw_only=True)
    info: dict[str, object] = field(default_factory=dict, kw_only=True)

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL of the REST API (``.../api/0``)."""
        return f"{self.url}/api/0"

    @property
    def pid(self) -> int:
        """PID of the server process (for psutil sampling and kill tests)."""
        return self.process.pid

    @property
    def data_dir(self) -> Path:
        """The folder that holds the server's database."""
        raise NotImplementedError

    def alive(self) -> bool:
        """True while the subprocess has not exited."""
        return self.process.poll() is None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Last lines of the combined stdout/stderr log."""
        return read_log_tail(self.log_path, lines)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a bounded wait.  Idempotent."""
        return stop_process(self.process)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(eq=False)
class ReferenceServer(ServerSubprocess):
    """A running aw-server 0.12.0 subprocess; use as a context manager or call :meth:`stop`."""

    testing: bool

    @property
    def data_dir(self) -> Path:
        """aw-server's own data directory (database, ``settings.json``, ``device_id``)."""
        return self.data_root / "data" / "activitywatch" / "aw-server"

    @property
    def db_path(self) -> Path:
        """The peewee SQLite file.

        aw-core names it ``peewee-sqlite.v2.db``; in ``--testing`` mode (without
        ``AW_PROFILE``) it appends ``-testing``: ``peewee-sqlite-testing.v2.db``.
        """
        suffix = "-testing" if self.testing else ""
        return self.data_dir / f"peewee-sqlite{suffix}.v2.db"

    @property
    def config_path(self) -> Path:
        """The aw-server.toml it created with commented-out defaults."""
        return self.data_root / "config" / "activitywatch" / "aw-server" / "aw-server.toml"

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a bounded wait.  Idempotent."""
        _RUNNING.discard(self)
        return super().stop()


@atexit.register
def _stop_all_running() -> None:
    """Never leave an aw-server behind if a test run is interrupted."""
    for server in list(_RUNNING):
        server.stop()


def start_reference_server(
    data_root: Path,
    *,
    testing: bool = False,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    start_timeout_s: float = _START_TIMEOUT_S,
    venv_dir: Path | None = None,
) -> ReferenceServer:
    """Start aw-server 0.12.0 (peewee storage) on ``127.0.0.1`` and wait until it answers.

    CLI used: ``python -m aw_server --host 127.0.0.1 --port P --storage peewee``:

    * ``--host 127.0.0.1`` binds loopback only; it is also the host accepted by the
      Host-header check besides ``localhost``.
    * ``--port`` overrides the config default (5600, or 5666 with ``--testing``).
    * ``--storage peewee`` is the default anyway, but explicit so a config file cannot
      switch the oracle to the in-memory store.
    * ``--testing`` is **off by default**: it turns on Flask debug mode (interactive
      Werkzeug debugger pages on 500s, pretty-printed JSON) and renames the DB file.  The
      only thing it buys is ``DELETE /buckets/<id>`` without ``?force=1``; pass
      ``testing=True`` to observe that, or send ``?force=1``.

    All XDG dirs point under ``data_root`` (see :func:`isolated_env`) and stdout+stderr go
    to ``data_root/aw-server.log``.  Raises :class:`ReferenceServerError` (with log tail)
    if it does not answer ``GET /api/0/info`` within ``start_timeout_s``.
    """
    venv = ensure_reference_venv(venv_dir)
    data_root = Path(data_root)
    data_root.mkdir(parents=True, exist_ok=True)
    env = isolated_env(data_root)
    host = "127.0.0.1"
    attempts = 1 if port is not None else 3
    last_error: ReferenceServerError | None = None
    for attempt in range(attempts):
        chosen = port if port is not None else find_free_port(host)
        log_path = data_root / ("aw-server.log" if attempt == 0 else f"aw-server.{attempt}.log")
        cmd = [
            str(reference_python(venv)),
            "-I",  # isolated: never let PYTHONPATH or the cwd shadow aw_server with ours
            "-u",
            "-m",
            "aw_server",
            "--host",
            host,
            "--port",
            str(chosen),
            "--storage",
            "peewee",
            *(("--testing",) if testing else ()),
            *extra_args,
        ]
        proc = spawn_logged(cmd, log_path, env=env, cwd=data_root)
        server = ReferenceServer(
            process=proc,
            port=chosen,
            host=host,
            data_root=data_root,
            log_path=log_path,
            testing=testing,
        )
        _RUNNING.add(server)
        try:
            server.info = wait_for_http(f"{server.api_url}/info", proc, log_path, start_timeout_s)
        except ReferenceServerError as exc:
            server.stop()
            last_error = exc
            if "Address already in use" in server.log_tail():
                continue  # lost the race for the port; pick another
            raise
        if not server.db_path.exists():
            server.stop()
            raise ReferenceServerError(
                f"aw-server answered but {server.db_path} does not exist; files: "
                f"{sorted(str(p) for p in server.data_dir.glob('*'))}\n{server.log_tail()}"
            )
        return server
    assert last_error is not None
    raise last_error
