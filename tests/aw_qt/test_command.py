"""`aw-qt --no-gui` as a real process: single instance, signals, and an existing server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.aw_qt.helpers import SCRIPTS, alive, wait_for
from tests.conftest import make_server
from tests.support.servers import free_port

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


class AwQt:
    def __init__(self, tmp_path: Path, port: int, *extra: str, no_gui: bool = True,
                 modules: str = "aw-server,aw-watcher-well") -> None:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        script = bindir / "aw-watcher-well"
        script.write_text(f"#!{sys.executable}\n" + SCRIPTS["well"].replace(
            "pathlib.Path(sys.argv[1])", f"pathlib.Path({str(tmp_path / 'well.marker')!r})"))
        script.chmod(0o755)
        env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
        env.pop("DISPLAY", None)
        if not no_gui:  # a terminal without any display: nothing tells Qt what to use
            env.pop("WAYLAND_DISPLAY", None)
            env.pop("QT_QPA_PLATFORM", None)
        self.base = Path(os.environ["AW_BASE_DIR"])
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cmd = [sys.executable, "-m", "aw_qt", "--testing", "--port", str(port),
                    "--autostart-modules", modules, *extra]
        if no_gui:
            self.cmd.append("--no-gui")
        self.env = env
        self.proc = subprocess.Popen(self.cmd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def module_log(self) -> Path:
        return self.base / "log" / "aw-qt" / "modules" / "aw-watcher-well.log"

    def wait_ready(self) -> list[int]:
        wait_for(lambda: self.proc.poll() is None and self.module_log().exists()
                 and "ready" in self.module_log().read_text(), timeout=30)
        return [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=10)
        return self.proc.returncode, out


@pytest.fixture
def awqt(tmp_path: Path) -> Iterator[AwQt]:
    instance = AwQt(tmp_path, free_port())
    yield instance
    instance.stop(signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_headless_runs_server_and_module_and_stops_cleanly(awqt: AwQt, tmp_path: Path,
                                                           sig: int) -> None:
    children = awqt.wait_ready()
    assert len(children) == 1
    assert requests.get(awqt.url + "/api/0/info", timeout=5).json()["testing"] is True
    code, out = awqt.stop(sig)
    assert code == 0, out
    assert (tmp_path / "well.marker").read_text() == "term\n"  # SIGTERM, not SIGKILL
    assert not any(alive(pid) for pid in children)
    assert out.index("all modules stopped") < out.index("aw-server stopped")
    with pytest.raises(requests.ConnectionError):
        requests.get(awqt.url + "/api/0/info", timeout=2)


def test_gui_quits_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The tray process (offscreen here) handles SIGTERM while Qt's loop waits."""
    port = free_port()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-m", "aw_qt", "--testing", "--port", str(port),
                             "--autostart-modules", "none"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/0/info",
                                    timeout=1).status_code == 200
            except requests.ConnectionError:
                return proc.poll() is not None  # fail fast below if it died

        wait_for(up, timeout=30)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "SIGTERM received; quitting" in out and "aw-server stopped" in out


def test_second_start_says_so_and_starts_nothing(awqt: AwQt, tmp_path: Path) -> None:
    awqt.wait_ready()
    second = subprocess.run(awqt.cmd, env=awqt.env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert second.returncode == 1
    assert "already running" in second.stderr and str(awqt.proc.pid) in second.stderr
    assert len(psutil.Process(awqt.proc.pid).children(recursive=True)) == 1
    code, out = awqt.stop()
    assert code == 0
    assert "a second launch asked for this aw-qt: headless" in out  # it has no window


def test_without_a_display_only_the_watchers_that_need_one_are_left_out(
        tmp_path: Path) -> None:
    """`aw-qt` over SSH (no --no-gui, no DISPLAY): server and what can run, one line."""
    awqt = AwQt(tmp_path, free_port(), no_gui=False,
                modules="aw-server,aw-watcher-afk,aw-watcher-window,aw-watcher-well")
    try:
        awqt.wait_ready()
        assert requests.get(awqt.url + "/api/0/info", timeout=5).status_code == 200
    finally:
        code, out = awqt.stop()
    assert code == 0, out
    lines = [line for line in out.splitlines() if "runs headless" in line]
    assert len(lines) == 1, out
    assert "modules running: aw-watcher-well;" in lines[0]
    assert "not started, they need a desktop session: aw-watcher-afk, aw-watcher-window" in (
        lines[0])
    assert "exited" not in out and "restart" not in out


def test_existing_server_is_used_and_left_running(tmp_path: Path) -> None:
    server = make_server(tmp_path / "own")
    try:
        awqt = AwQt(tmp_path, server.port)
        try:
            awqt.wait_ready()
        finally:
            code, out = awqt.stop()
        assert code == 0, out
        assert "already answers" in out
        assert requests.get(server.url + "/api/0/info", timeout=5).status_code == 200
    finally:
        server.stop()
