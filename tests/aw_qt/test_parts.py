"""Discovery, autostart, config, the instance lock and pause end times."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from aw_qt import config
from aw_qt.desktop.autostart import LaunchAgentAutostart, XdgAutostart
from aw_qt.desktop.instance import InstanceLock
from aw_qt.modules.finder import discover
from aw_qt.pause import PauseChoice, PauseState, PauseStore, pause_end


def executable(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


@pytest.mark.skipif(os.name == "nt", reason="POSIX executable bits")
def test_discovery_follows_activitywatch_rules(tmp_path: Path) -> None:
    bundle, sys1, sys2 = tmp_path / "bundle", tmp_path / "sys1", tmp_path / "sys2"
    executable(bundle / "aw-watcher-afk")
    executable(bundle / "aw-watcher-web" / "aw-watcher-web")  # one level into aw-* dirs
    executable(bundle / "aw-qt")  # ignored names
    executable(bundle / "aw-server")  # the server is built in
    executable(bundle / "aw-notes.txt", 0o644)  # not executable
    executable(sys1 / "aw-watcher-afk")  # the bundled one wins
    executable(sys1 / "aw-watcher-spotify")  # third-party on PATH
    executable(sys2 / "aw-watcher-spotify")  # first on PATH wins
    executable(sys1 / "aw-qt.desktop")
    executable(sys1 / "something-else")
    found = discover([bundle], os.pathsep.join([str(sys1), str(sys2)]))
    assert sorted(found) == ["aw-watcher-afk", "aw-watcher-spotify", "aw-watcher-web",
                             "aw-watcher-window"]
    assert found["aw-watcher-afk"].argv == (str(bundle / "aw-watcher-afk"),)
    assert found["aw-watcher-afk"].source == "bundled"
    assert found["aw-watcher-web"].source == "bundled"
    assert found["aw-watcher-spotify"].argv == (str(sys1 / "aw-watcher-spotify"),)
    assert found["aw-watcher-spotify"].source == "system"
    # Our own window watcher is built in when no executable is installed.
    assert found["aw-watcher-window"].source == "builtin"
    assert found["aw-watcher-window"].argv == (sys.executable, "-m", "watchers.window")


def test_xdg_autostart_round_trip(tmp_path: Path) -> None:
    auto = XdgAutostart(tmp_path / "cfg", [tmp_path / "sys"], ["/opt/Activity Watch/aw-qt"])
    assert not auto.is_enabled()
    auto.set_enabled(True)
    text = auto.path.read_text()
    assert auto.path == tmp_path / "cfg" / "autostart" / "aw-qt.desktop"
    assert 'Exec="/opt/Activity Watch/aw-qt"' in text
    assert text.startswith("[Desktop Entry]\n") and "Type=Application" in text
    assert auto.is_enabled()
    auto.set_enabled(False)
    assert not auto.path.exists() and not auto.is_enabled()


def test_the_autostart_entry_names_the_packaged_icon_by_its_path(tmp_path: Path) -> None:
    auto = XdgAutostart(tmp_path / "cfg", [], ["aw-qt"])
    auto.set_enabled(True)
    keys = dict(line.split("=", 1) for line in auto.path.read_text().splitlines()
                if "=" in line)
    icon = Path(keys["Icon"])
    assert icon.is_absolute() and icon.is_file() and icon.suffix == ".png"
    assert icon.name == "aw-qt-256.png"


@pytest.mark.parametrize("line", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_xdg_autostart_honours_disabling_keys(tmp_path: Path, line: str) -> None:
    auto = XdgAutostart(tmp_path / "cfg", [tmp_path / "sys"], ["aw-qt"])
    auto.path.parent.mkdir(parents=True)
    auto.path.write_text(f"[Desktop Entry]\nType=Application\nExec=aw-qt\n{line}\n")
    assert not auto.is_enabled()
    auto.set_enabled(True)
    assert auto.is_enabled()


def test_xdg_autostart_overrides_a_system_wide_entry(tmp_path: Path) -> None:
    system = tmp_path / "sys" / "autostart" / "aw-qt.desktop"
    system.parent.mkdir(parents=True)
    system.write_text("[Desktop Entry]\nType=Application\nExec=aw-qt\n")
    auto = XdgAutostart(tmp_path / "cfg", [tmp_path / "sys"], ["aw-qt"])
    assert auto.is_enabled()
    auto.set_enabled(False)  # deleting would not help: write an overriding user entry
    text = auto.path.read_text()
    assert "Hidden=true" in text and "X-GNOME-Autostart-enabled=false" in text
    assert not auto.is_enabled()
    assert system.exists()


def test_launch_agent_round_trip(tmp_path: Path) -> None:
    auto = LaunchAgentAutostart(tmp_path, ["/Applications/ActivityWatch.app/aw-qt"])
    assert not auto.is_enabled()
    auto.set_enabled(True)
    plist = plistlib.loads(auto.path.read_bytes())
    assert plist["Label"] == "net.activitywatch.aw-qt" and plist["RunAtLoad"] is True
    assert plist["ProgramArguments"] == ["/Applications/ActivityWatch.app/aw-qt"]
    assert auto.is_enabled()
    auto.set_enabled(False)
    assert not auto.is_enabled()


def test_config_file_written_commented_and_sections_read(tmp_path: Path) -> None:
    path = tmp_path / "aw-qt.toml"
    assert config.load_config(path) == config.QtConfig()
    assert "#autostart_modules" in path.read_text()
    path.write_text('[aw-qt]\nautostart_modules = ["aw-watcher-afk"]\n'
                    '[aw-qt-testing]\nautostart_modules = "aw-watcher-window, aw-x"\n')
    assert config.load_config(path).autostart_modules == ("aw-watcher-afk",)
    assert config.load_config(path, testing=True).autostart_modules == (
        "aw-watcher-window", "aw-x")
    assert config.parse_module_list("none") == ()


def test_instance_lock_is_single_per_profile(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path / "aw-qt.lock")
    first.acquire()
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from aw_qt.desktop.instance import *\n"
         "try:\n InstanceLock(Path(sys.argv[1])).acquire()\n"
         "except AlreadyRunning as e:\n print(e); sys.exit(1)",
         str(tmp_path / "aw-qt.lock")], check=False, capture_output=True, text=True,
        timeout=30)
    assert child.returncode == 1
    assert f"pid {os.getpid()}" in child.stdout
    InstanceLock(tmp_path / "aw-qt-testing.lock").acquire()  # another profile is fine
    first.release()
    again = InstanceLock(tmp_path / "aw-qt.lock")
    again.acquire()
    again.release()


def test_pause_end_times() -> None:
    now = datetime(2026, 11, 23, 14, 10).astimezone()
    assert pause_end(PauseChoice.MINUTES_15, now) == now.replace(minute=25)
    assert pause_end(PauseChoice.HOUR_1, now) == now.replace(hour=15)
    assert pause_end(PauseChoice.UNTIL_TOMORROW, now) == now.replace(day=24, hour=4, minute=0)
    early = now.replace(hour=2)
    assert pause_end(PauseChoice.UNTIL_TOMORROW, early) == early.replace(hour=4, minute=0)
    assert pause_end(PauseChoice.UNTIL_RESUMED, now) is None


def test_pause_store_round_trip_and_bad_file(tmp_path: Path) -> None:
    store = PauseStore(tmp_path / "pause.json")
    assert store.load() is None
    state = PauseState(datetime(2026, 11, 23, 15, 0).astimezone(), ("aw-watcher-afk",))
    store.save(state)
    assert store.load() == state
    assert state.describe() == "Paused until 15:00"
    (tmp_path / "pause.json").write_text("{not json")
    assert store.load() is None
