"""The PyInstaller bundle as a user runs it: built from this working tree, started from
outside any Python environment under a real X session with a tray, and driven from
its tray menu.

Checks that the one executable runs the tray, the embedded server (with the dashboard
and API browser found inside the bundle) and both watchers (as `aw-qt --run-module
...`), that "Open Dashboard" starts xdg-open with the user's environment rather than
the bundle's, and that Quit leaves no process behind. Timings and memory are printed
(`-s` shows them); bench/bundle_bench.py measures them more carefully.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.aw_qt.test_e2e_x11 import ARTIFACTS, WATCHERS, Driver, watcher_pids
from tests.aw_qt.xsession import XSession, missing_tools
from tests.bundle.build import EXE_NAME, Bundle, build_bundle, existing_bundle
from tests.support.servers import free_port
from watchers.process import MODULES_DIR_ENV

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.slow,
    pytest.mark.x11,
    pytest.mark.skipif(sys.platform != "linux" or bool(missing_tools()),
                       reason=f"needs Linux and {', '.join(missing_tools())}"),
]

# What the user had: the bundle must hand these (not its own) to programs it starts.
USER_LD_LIBRARY_PATH = "/opt/user-libs"
USER_QT_PLUGIN_PATH = "/opt/user-qt-plugins"
PYTHON_VARS = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
               "CONDA_PREFIX", "QT_QPA_PLATFORM")
XDG_OPEN_STUB = """#!/bin/sh
# Records how aw-qt called it: argv (one per line) and the environment (NUL-separated).
printf '%s\\n' "$@" > "{record}.args.tmp"
env -0 > "{record}.env"
mv "{record}.args.tmp" "{record}.args"
"""


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """One build per test session (or AW_TEST_BUNDLE's folder)."""
    found = existing_bundle()
    if found is not None:
        return found
    base = tmp_path_factory.mktemp("bundle")
    built = build_bundle(base / "dist", base / "work")
    print(f"\nbundle built in {built.seconds:.1f} s")
    return built


@pytest.fixture
def xsession(tmp_path: Path) -> Iterator[XSession]:
    session = XSession(tmp_path / "x").start()
    yield session
    session.stop()


def user_environment(base: dict[str, str], home: Path, stub_dir: Path) -> dict[str, str]:
    """A desktop user's environment: no venv on PATH, no Python variables, our stub
    xdg-open first on PATH, and library/plugin paths of their own."""
    ours = {Path(sys.prefix).resolve() / "bin", Path(sys.executable).resolve().parent}
    path = [str(stub_dir)]
    for entry in base.get("PATH", os.defpath).split(os.pathsep):
        if entry and Path(entry).resolve() not in ours and entry not in path:
            path.append(entry)
    env = {k: v for k, v in base.items() if k not in PYTHON_VARS}
    env.update(PATH=os.pathsep.join(path), HOME=str(home),
               LD_LIBRARY_PATH=USER_LD_LIBRARY_PATH, QT_PLUGIN_PATH=USER_QT_PLUGIN_PATH)
    return env


# What a bundled watcher must not load: it shares the tray's executable, not its imports.
WATCHER_NEVER_LOADS = ("PyQt6", "numpy", "flask", "werkzeug", "aw_server", "requests", "ssl")


def qt_libraries(pid: int) -> list[str]:
    """Qt's shared libraries mapped into a process (from /proc/PID/maps)."""
    maps = Path(f"/proc/{pid}/maps").read_text(errors="replace").splitlines()
    return sorted({line.split()[-1] for line in maps if "libQt6" in line})


def loopback_port() -> int:
    while (port := free_port()) in (5600, 5666):
        pass
    return port


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0")
                if "=" in item)


def bundle_processes(folder: Path) -> dict[int, str]:
    """Living processes whose executable is inside the bundle folder."""
    found = {}
    for proc in psutil.process_iter(["pid", "exe", "cmdline", "status"]):
        exe = proc.info["exe"]
        if exe and Path(exe).is_relative_to(folder) and proc.info["status"] != "zombie":
            found[proc.pid] = " ".join(proc.info["cmdline"] or [])
    return found


def rss_mb(pid: int) -> tuple[float, float]:
    """RSS of the process alone, and with all its children (MB)."""
    main = psutil.Process(pid)
    own = main.memory_info().rss
    total = own
    for child in main.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return own / 2**20, total / 2**20


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


def info_answers(url: str) -> bool:
    try:
        return get(f"{url}/api/0/info").status_code == 200
    except requests.ConnectionError:
        return False


def recording(url: str) -> dict[str, int]:
    """Events per watcher bucket, once both buckets have some."""
    counts: dict[str, int] = {}
    for bucket in get(f"{url}/api/0/buckets/").json():
        for name in WATCHERS:
            if bucket.startswith(f"{name}_"):
                events: list[Any] = get(f"{url}/api/0/buckets/{bucket}/events").json()
                counts[name] = len(events)
    return counts if len(counts) == 2 and all(counts.values()) else {}


def afk_has_duration(url: str) -> bool:
    for bucket in get(f"{url}/api/0/buckets/").json():
        if bucket.startswith("aw-watcher-afk_"):
            events: list[Any] = get(f"{url}/api/0/buckets/{bucket}/events").json()
            return any(event["duration"] > 0 for event in events)
    return False


@pytest.mark.timeout(1500)
def test_bundle_runs_tray_server_and_watchers(bundle: Bundle, xsession: XSession,
                                              tmp_path: Path) -> None:
    exe = bundle.exe.resolve()
    home, stub_dir = tmp_path / "home", tmp_path / "stub"
    home.mkdir()
    stub_dir.mkdir()
    record = tmp_path / "xdg-open"
    stub = stub_dir / "xdg-open"
    stub.write_text(XDG_OPEN_STUB.format(record=record))
    stub.chmod(0o755)
    env = user_environment(xsession.env, home, stub_dir)
    modules_dir = tmp_path / "modules"
    env[MODULES_DIR_ENV] = str(modules_dir)  # the watchers list their modules as they stop
    port = loopback_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "aw-qt.log"
    log = log_path.open("wb")
    driver = Driver(xsession)
    started = time.monotonic()
    proc = subprocess.Popen([str(exe), "--testing", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=home)
    seen: set[int] = set()
    try:
        xsession.wait(lambda: info_answers(url) or proc.poll() is not None,
                      "the embedded server", timeout=90)
        assert proc.poll() is None, "the bundle exited during start-up"
        info_s = time.monotonic() - started
        xsession.wait(xsession.tray_icon, "the tray icon", timeout=60)
        tray_s = time.monotonic() - started
        print(f"\ncold start: /api/0/info after {info_s:.2f} s, tray icon after {tray_s:.2f} s")
        assert psutil.Process(proc.pid).exe() == str(exe)
        assert "tray icons not found" not in log_path.read_text(errors="replace")

        # The dashboard and the API browser are served from inside the bundle.
        for page, marker in (("/", "<html"), ("/api/", "<html"), ("/api/browser.js", "")):
            response = get(url + page)
            assert response.status_code == 200, page
            assert marker in response.text.lower(), page

        # Both watchers run from the bundle's own executable, and record.
        pids: dict[str, int] = xsession.wait(
            lambda: (p := watcher_pids(proc)) and len(p) == 2 and p, "both watchers",
            timeout=60)
        seen.update(pids.values())
        for name, pid in pids.items():
            child = psutil.Process(pid)
            assert child.exe() == str(exe), name
            assert child.cmdline()[1:3] == ["--run-module", name]
            # Started with the user's environment, not the bundle's.
            child_env = environ_of(pid)
            assert child_env.get("QT_PLUGIN_PATH") == USER_QT_PLUGIN_PATH, name
            # Its own bootloader re-adds the bundle to LD_LIBRARY_PATH and saves what it
            # was given: the user's value alone, not ours with the bundle already in it.
            assert child_env.get("LD_LIBRARY_PATH_ORIG") == USER_LD_LIBRARY_PATH, name
            # PyInstaller's Qt runtime hook is left out: no Qt library in a watcher.
            assert not qt_libraries(pid), name
        counts = xsession.wait(lambda: recording(url), "events from both watchers", timeout=90)
        print(f"events after {time.monotonic() - started:.1f} s: {counts}")
        own, total = rss_mb(proc.pid)
        print(f"RSS: aw-qt {own:.1f} MB, with the watchers {total:.1f} MB")

        # A query runs in the server's worker process: the bundle's executable again,
        # reading a bucket with the columnar engine (numpy is in the bundle). flood, as
        # aw-core's, drops zero-duration events, and the AFK watcher's first event has
        # none until its next heartbeat extends it: wait for that first.
        xsession.wait(lambda: afk_has_duration(url), "an AFK event with a duration",
                      timeout=60)
        answer = requests.post(f"{url}/api/0/query/", timeout=120, json={
            "timeperiods": ["2000-01-01T00:00:00+00:00/2100-01-01T00:00:00+00:00"],
            "query": ['afk = flood(query_bucket(find_bucket("aw-watcher-afk")));',
                      'RETURN = [query_bucket_names(), sum_durations(afk), '
                      'merge_events_by_keys(afk, ["status"])];']})
        assert answer.status_code == 200, answer.text
        names, afk_seconds, by_status = answer.json()[0]
        assert any(name.startswith("aw-watcher-afk") for name in names)
        assert afk_seconds >= 0 and by_status, answer.text
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "--multiprocessing-fork" in c.cmdline()]
        assert [w.exe() for w in workers] == [str(exe)]
        assert not qt_libraries(workers[0].pid)
        seen.update(w.pid for w in workers)

        # Open Dashboard: xdg-open runs with the user's environment.
        driver.open_menu()
        driver.keys("Down", "Return")
        driver.wait_menus_closed()
        args_file = Path(f"{record}.args")
        xsession.wait(args_file.exists, "xdg-open to be called", timeout=30)
        assert args_file.read_text().splitlines() == [f"{url}/"]
        opened_env = dict(item.split("=", 1) for item in
                          Path(f"{record}.env").read_text().split("\0") if "=" in item)
        internal = str(bundle.internal.resolve())
        assert opened_env.get("LD_LIBRARY_PATH") == USER_LD_LIBRARY_PATH
        assert opened_env.get("QT_PLUGIN_PATH") == USER_QT_PLUGIN_PATH
        assert not any(internal in value for value in opened_env.values()), \
            {k: v for k, v in opened_env.items() if internal in v}
        assert "LD_LIBRARY_PATH_ORIG" not in opened_env

        # Quit from the menu: everything stops, nothing of the bundle keeps running.
        driver.open_menu()
        driver.keys("Up", "Return")
        quit_started = time.monotonic()
        assert proc.wait(60) == 0
        print(f"quit took {time.monotonic() - quit_started:.2f} s")
        xsession.wait(lambda: not bundle_processes(bundle.folder), "bundle processes to end",
                      timeout=15)
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                       for p in seen)
        with pytest.raises(requests.ConnectionError):
            get(f"{url}/api/0/info")
        for name in WATCHERS:
            modules = (modules_dir / f"{name}.modules").read_text().split()
            assert "watchers.transport" in modules, name
            assert not [m for m in modules if m.split(".")[0] in WATCHER_NEVER_LOADS], name
    except BaseException:
        with contextlib.suppress(Exception):
            xsession.screenshot(ARTIFACTS / "bundle-failure.png")
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for pid in (*seen, *bundle_processes(bundle.folder)):
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        log.close()
        print(log_path.read_text(errors="replace")[-3000:])


@pytest.mark.timeout(600)
def test_bundle_on_a_wayland_desktop(bundle: Bundle, tmp_path: Path) -> None:
    """The bundle carries what Wayland needs (Qt's Wayland platform, pywayland and its
    libwayland, the protocol XML, the scanner): on headless sway, as its user, aw-qt's
    icon registers with swaybar's tray and the watchers it starts record."""
    import shutil

    from tests.watchers.wayland.harness import UserSession, aw_qt_base_dir, poll
    from tests.watchers.wayland.sway import SwaySession
    from tests.watchers.wayland.test_sway_tray import SWAYBAR_TRAY, registered_items

    user = UserSession(tmp_path / "sway")
    port = loopback_port()
    url = f"http://127.0.0.1:{port}"
    try:
        user.start_session_bus()
        sway = SwaySession(user, extra_config=SWAYBAR_TRAY).start()
        sway.open_foot("org.example.Bundled", "bundled on sway")
        folder = user.files / "aw-qt"  # where the desktop user can run it
        shutil.copytree(bundle.folder, folder, symlinks=True)
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, user.user.uid, user.user.gid, follow_symlinks=False)
        aw_qt = user.spawn([str(folder / EXE_NAME), "--testing", "--port", str(port)],
                           "aw-qt.log", env=sway.env(AW_BASE_DIR=str(aw_qt_base_dir(user, "aw"))))
        poll(lambda: "StatusNotifierItem" in registered_items(sway),
             "the bundle's tray icon in swaybar", timeout=90)

        def window_events() -> list[Any]:
            bucket = f"aw-watcher-window_{socket.gethostname()}"
            response = get(f"{url}/api/0/buckets/{bucket}/events")
            return list(response.json()) if response.ok else []

        events = poll(window_events, "the bundled window watcher's event", timeout=90)
        assert events[-1]["data"] == {"app": "org.example.Bundled", "title": "bundled on sway"}
        poll(lambda: recording(url), "events from both watchers", timeout=90)
        aw_qt.send_signal(signal.SIGTERM)
        assert aw_qt.wait(30) == 0
        modules = user.files / "aw" / "log" / "aw-qt" / "modules"
        logs = {m: (modules / f"{m}.log").read_text(errors="replace") for m in WATCHERS}
        assert "window source wlroots" in logs["aw-watcher-window"]
        assert "idle source org-kde-kwin-idle" in logs["aw-watcher-afk"]
    finally:
        user.stop()
