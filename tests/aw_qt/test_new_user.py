"""A new user's first minutes: README.md's first command, exactly as written, in a copy
of this checkout with a fresh venv.

With a desktop (Xvfb + openbox + trayer) the command must bring up the tray icon, the
server and both watchers, welcome the user once (with the dashboard one click away)
and quit cleanly from the menu. Without a display the same command must run the
server headless and say so in one line. The port and folders are the test's own,
given through the environment and the server's config file, never by editing the
command. What that install brings must also serve the tray's own features: the
"Start at login" entry names an icon it installed, and pairing finds devices on the
network. Screenshots go to each test's `artifacts/` folder (the path is printed).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aw_qt.first_run import WELCOME_TITLE
from tests.aw_qt.helpers import embedded_server, wait_for
from tests.aw_qt.readme_install import ReadmeInstall
from tests.aw_qt.running import (
    Running,
    loopback_port,
    path_first,
    set_server_port,
    stub_opener,
    user_environment,
    watched,
)
from tests.aw_qt.test_e2e_x11 import WATCHERS, Driver
from tests.aw_qt.xsession import Geometry, XSession, missing_tools

pytestmark = [
    pytest.mark.x11,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux" or bool(missing_tools()),
                       reason=f"needs Linux and {', '.join(missing_tools())}"),
]


def readme_command(install: ReadmeInstall, env: dict[str, str], log: Path) -> Running:
    port = loopback_port()
    set_server_port(env, port)
    return Running(install.shell(), install.with_pip_cache(env), log, port,
                   cwd=install.folder)


def start_installed(install: ReadmeInstall, x: XSession, tmp_path: Path) -> Running:
    """`.venv/bin/aw-qt` of the README's install, as the desktop's menu would start it."""
    env = user_environment(x.env, tmp_path / "home")
    install.ensure_installed(install.with_pip_cache(env), tmp_path / "install.log")
    port = loopback_port()
    set_server_port(env, port)
    return Running([str(install.bin / "aw-qt")], env, tmp_path / "aw-qt.log", port)


def desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


@pytest.mark.timeout(900)
def test_readme_first_command_brings_up_tray_server_and_watchers(
        readme_install: ReadmeInstall, desktop_session: XSession, tmp_path: Path,
        artifacts: Path) -> None:
    x = desktop_session
    opened = stub_opener(tmp_path / "stub")
    env = user_environment(x.env, tmp_path / "home")
    env = path_first(env, tmp_path / "stub")
    run = readme_command(readme_install, env, tmp_path / "readme.log")
    driver = Driver(x)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        # pip's time is part of the command; the product's own start is timed in bench/.
        x.wait(lambda: x.tray_icon() or run.proc.poll() is not None, "the tray icon",
               timeout=600)
        assert run.proc.poll() is None, run.log()[-3000:]
        info = x.wait(run.info, "the server")
        assert info["testing"] is False  # the normal profile, as a user gets it
        watchers = x.wait(lambda: (w := run.find("aw-watcher-")) and len(w) == 2 and w,
                          "both watchers")
        bin_dir = str(readme_install.bin)
        for name in WATCHERS:  # the venv's own console scripts, on the test's port
            assert any(f"{bin_dir}/{name} " in cmd and f"--port {run.port}" in cmd
                       for cmd in watchers.values()), watchers
        x.painted_icon()
        x.screenshot(artifacts / "new-user-tray.png", Geometry(1080, 0, 200, 32))

        # The first start says what happens and where the data is.
        welcome = x.wait(lambda: x.window_named(WELCOME_TITLE), "the welcome")
        x.screenshot(artifacts / "new-user-welcome.png", welcome)
        first = [line for line in run.log().splitlines() if "first start:" in line]
        assert len(first) == 1 and "aw-server.sqlite" in first[0]
        x.xdotool("key", "Return")  # its default button: Open Dashboard
        x.wait(lambda: opened.exists() and opened.read_text().strip(), "the dashboard")
        assert opened.read_text().splitlines() == [f"{run.url}/"]
        x.wait(lambda: not x.window_named(WELCOME_TITLE), "the welcome to close")

        # Quit from the menu: the shell running the command ends with aw-qt, cleanly.
        driver.open_menu()
        driver.keys("Up", "Return")
        assert run.ends_cleanly()
        assert run.info() is None


@pytest.mark.timeout(900)
def test_readme_first_command_without_a_display_runs_headless(
        readme_install: ReadmeInstall, tmp_path: Path) -> None:
    env = user_environment(dict(os.environ), tmp_path / "home")
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(var, None)
    run = readme_command(readme_install, env, tmp_path / "readme.log")
    with watched(run):
        # The install comes first.
        wait_for(lambda: "runs headless" in run.log() or run.proc.poll() is not None,
                 timeout=600)
        info = run.info()
        assert info is not None, run.log()[-3000:]
        assert info["testing"] is False
        lines = [line for line in run.log().splitlines() if "runs headless" in line]
        assert len(lines) == 1, run.log()[-3000:]
        assert f"server {run.url}" in lines[0] and "DISPLAY" in lines[0]
        assert "aw-watcher-afk, aw-watcher-window" in lines[0]  # not started, and why
        assert "Traceback" not in run.log() and "exited with code" not in run.log()
        assert not run.find("aw-watcher-")
        run.signal_awqt(signal.SIGTERM)
        assert run.wait(60) == 0, run.log()[-3000:]
        assert run.info() is None


@pytest.mark.timeout(900)
def test_start_at_login_from_the_readme_install_names_an_icon_that_exists(
        readme_install: ReadmeInstall, desktop_session: XSession, tmp_path: Path,
        artifacts: Path) -> None:
    x = desktop_session
    run = start_installed(readme_install, x, tmp_path)
    driver = Driver(x)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        x.wait(x.tray_icon, "the tray icon", timeout=60)
        x.dismiss(WELCOME_TITLE)
        driver.open_menu()
        driver.keys(*["Down"] * 8, "Return")  # Start at login
        entry = Path(run.env["XDG_CONFIG_HOME"]) / "autostart" / "aw-qt.desktop"
        x.wait(entry.exists, "the autostart entry")
        keys = desktop_entry(entry)
        assert keys["Exec"] == str(readme_install.bin / "aw-qt")
        icon = Path(keys["Icon"])
        assert icon.is_absolute() and icon.is_file(), keys
        assert icon.is_relative_to(readme_install.folder / ".venv")  # what pip installed
        assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if shutil.which("desktop-file-validate"):
            subprocess.run(["desktop-file-validate", str(entry)], check=True, timeout=30)
        menu = driver.open_menu()
        x.screenshot(artifacts / "start-at-login.png",
                     Geometry(menu.x, 0, 1280 - menu.x, menu.y + menu.height + 4))
        driver.keys("Escape")
        run.signal_awqt(signal.SIGTERM)
        assert run.wait(60) == 0, run.log()[-3000:]


@pytest.mark.timeout(900)
def test_pairing_from_the_readme_install_finds_a_device_on_the_network(
        readme_install: ReadmeInstall, desktop_session: XSession, tmp_path: Path,
        artifacts: Path) -> None:
    x = desktop_session
    peer = embedded_server(tmp_path / "peer", "laptop")
    run = start_installed(readme_install, x, tmp_path)
    driver = Driver(x)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png"), cleanup=peer.stop):
        service = peer.sync
        assert service is not None
        window = service.pairing(listen=["127.0.0.1"], port=0)
        assert window["advertised"] is True
        x.wait(x.tray_icon, "the tray icon", timeout=60)
        x.dismiss(WELCOME_TITLE)
        driver.open_menu()
        driver.keys(*["Down"] * 7, "Right", "Return")  # Sync ▸ Pair new device…
        dialog = x.wait(lambda: x.window_named("Pair new device"), "the pairing dialog")
        x.xdotool("key", "ctrl+Tab")  # "Enter a code": its first look searches
        x.wait(lambda: "device search" in run.log(), "the search", timeout=30)
        # Other devices on the network may show a code too: ours must be among them.
        found = next(line for line in run.log().splitlines() if "device search" in line)
        assert f"laptop ({window['addresses'][0]})" in found, found
        x.screenshot(artifacts / "pairing-search.png", dialog)
        run.signal_awqt(signal.SIGTERM)
        assert run.wait(60) == 0, run.log()[-3000:]
