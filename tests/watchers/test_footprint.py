"""What a real watcher process loads: none of the tray's or the server's heavy stacks.

Each watcher runs as a subprocess on a real X session against our real server until
its heartbeats arrived (so the backend, the queue and the sender have all run), then
stops and writes its `sys.modules` (`AW_WATCHER_MODULES_DIR`, watchers/process.py).
"""

from __future__ import annotations

import os
import socket
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.watchers.helpers import wait_until
from tests.watchers.processes import WatcherProcess, watcher_env
from tests.watchers.servers import REPO, ServerProcess
from tests.watchers.xsession import XSession
from watchers.process import MODULES_DIR_ENV

pytestmark = pytest.mark.x11

HOST = socket.gethostname()
# Top-level packages a watcher has no use for: Qt, the query worker's numpy, the web
# framework, the server, and the HTTP stacks (with TLS) the watchers replaced with h11.
FORBIDDEN = ("PyQt6", "numpy", "flask", "werkzeug", "jinja2", "aw_server", "aw_qt",
             "requests", "urllib3", "charset_normalizer", "idna", "certifi", "ssl", "email")
# Smaller modules each watcher got rid of on X11: the X extensions it does not speak
# (watchers/x11display.py), the `uname -p` probe's subprocess machinery, the IDNA
# codec a str host made `getaddrinfo` load (watchers/transport.py), platformdirs with
# the tempfile stack its Unix module imports (watchers/config.py), and the shutil (bz2,
# lzma) argparse imports to measure the terminal (watchers/command.py), and pathlib with
# urllib.parse and ipaddress (paths are os.path strings, the query string is built in
# watchers/transport.py).
TRIMMED = {"subprocess", "_posixsubprocess", "encodings.idna", "unicodedata", "stringprep",
           "platformdirs", "tempfile", "random", "shutil", "bz2", "lzma",
           "pathlib", "urllib.parse", "ipaddress"}
UNUSED_X_EXTENSIONS = {f"Xlib.ext.{name}" for name in (
    "xtest", "shape", "xinerama", "record", "composite", "randr", "xfixes", "security",
    "xinput", "nvcontrol", "damage", "dpms", "res")}


def loaded_modules(kind: str, args: list[str], xsession: XSession, server: ServerProcess,
                   tmp_path: Path, nudge: Callable[[], object] = lambda: None) -> set[str]:
    """The watcher's modules once its events reached the server; `nudge` is called
    while waiting (the AFK watcher sends a not-AFK event only once input extends it)."""
    modules_dir = tmp_path / "modules"
    env = watcher_env(tmp_path / "aw", xsession.display)
    env[MODULES_DIR_ENV] = str(modules_dir)
    # Without `site` (-S), the checkout and the venv's packages on PYTHONPATH: what
    # `pip install .` gives. An editable install's import finder, which `site` would
    # load in development, imports pathlib itself before any watcher code runs.
    paths = sysconfig.get_paths()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), paths["purelib"], paths["platlib"]])
    watcher = WatcherProcess(kind, ["--testing", "--port", str(server.port),
                                    "--poll-time", "0.5", *args],
                             env, tmp_path / f"{kind}.log", [sys.executable, "-S"]).start()
    try:
        bucket = f"aw-watcher-{kind}_{HOST}"
        wait_until(lambda: nudge() or server.events(bucket), f"{bucket} to get events",
                   timeout=60, interval=0.5)
    finally:
        assert watcher.stop() == 0, watcher.output()
    dump = modules_dir / f"aw-watcher-{kind}.modules"
    return set(dump.read_text(encoding="utf-8").split())


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


def test_the_window_watcher_loads_nothing_it_does_not_use(
        xsession: XSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    xsession.activate(xsession.open_xterm("footprint probe", cls="ProbeClass"))
    modules = loaded_modules("window", [], xsession, preferred_server, tmp_path)
    assert "watchers.window.backends.x11" in modules  # it did run the X11 backend
    assert "watchers.transport" in modules
    assert heavy(modules) == []
    # Other platforms' backends stay out.
    assert not {"watchers.window.backends.gnome", "watchers.window.backends.kwin",
                "watchers.window.backends.wlroots", "watchers.dbus", "jeepney",
                "pywayland"} & modules
    assert sorted(modules & (TRIMMED | UNUSED_X_EXTENSIONS | {"Xlib.ext.screensaver"})) == []


def test_the_afk_watcher_loads_nothing_it_does_not_use(
        xsession: XSession, preferred_server: ServerProcess, tmp_path: Path) -> None:
    modules = loaded_modules("afk", ["--timeout", "60"], xsession, preferred_server, tmp_path,
                             nudge=xsession.input)
    assert "watchers.afk.backends.x11" in modules
    assert heavy(modules) == []
    assert not {"watchers.window", "watchers.dbus", "jeepney", "pywayland"} & modules
    assert "Xlib.ext.screensaver" in modules  # the one extension it queries
    assert sorted(modules & (TRIMMED | UNUSED_X_EXTENSIONS)) == []
