"""The command lines: flags, exit codes, config errors (subprocesses, no display needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.watchers.processes import watcher_env
from tests.watchers.servers import REPO
from watchers.process import EXIT_CONFIG, EXIT_UNSUPPORTED


def run(kind: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", f"watchers.{kind}", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_unsupported_wayland_desktop_exits_3_with_one_message(tmp_path: Path) -> None:
    env = watcher_env(tmp_path / "aw")
    env.update({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "sway"})
    env.pop("DISPLAY", None)
    result = run("window", ["--testing"], env)
    assert result.returncode == EXIT_UNSUPPORTED
    assert result.stderr.count("Window tracking is unavailable") == 1
    assert "GNOME" in result.stderr and "KDE" in result.stderr


def test_no_display_exits_3(tmp_path: Path) -> None:
    env = watcher_env(tmp_path / "aw")
    env.pop("DISPLAY", None)
    for kind in ("afk", "window"):
        result = run(kind, ["--testing", "--backend", "x11"], env)
        assert result.returncode == EXIT_UNSUPPORTED, result.stderr
        assert "display" in result.stderr.lower()


def test_invalid_regex_exits_2(tmp_path: Path) -> None:
    result = run("window", ["--testing", "--exclude-titles", "("], watcher_env(tmp_path / "aw"))
    assert result.returncode == EXIT_CONFIG
    assert "exclude_titles" in result.stderr


def test_timeout_below_poll_exits_2(tmp_path: Path) -> None:
    result = run("afk", ["--testing", "--timeout", "1", "--poll-time", "5"],
                 watcher_env(tmp_path / "aw"))
    assert result.returncode == EXIT_CONFIG


def test_help_lists_activitywatch_flags(tmp_path: Path) -> None:
    env = watcher_env(tmp_path / "aw")
    afk = run("afk", ["--help"], env).stdout
    window = run("window", ["--help"], env).stdout
    for flag in ("--testing", "--verbose", "--host", "--port", "--poll-time"):
        assert flag in afk and flag in window
    assert "--timeout" in afk
    assert "--exclude-titles" in window and "--exclude-title " in window

