"""`--run-module`: one dispatcher behind both entry points (`aw_qt.__main__`, the bundle's
`aw_qt.frozen`), run as real commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aw_qt.modules.run_module import requested

ENTRY_POINTS = ("aw_qt", "aw_qt.frozen")


def run(entry: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", entry, *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_only_a_named_module_is_a_request() -> None:
    assert requested(["--run-module", "aw-watcher-afk"])
    assert not requested(["--run-module"])
    assert not requested(["--testing", "--run-module", "aw-watcher-afk"])


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("name", "prog"), [("aw-watcher-afk", "aw-watcher-afk"),
                                            ("aw-watcher-window", "aw-watcher-window"),
                                            ("aw-server", "aw-server")])
def test_each_entry_point_runs_each_builtin_command(entry: str, name: str, prog: str) -> None:
    result = run(entry, "--run-module", name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {prog}")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_unknown_module_is_refused_by_name(entry: str) -> None:
    result = run(entry, "--run-module", "aw-watcher-nope")
    assert result.returncode == 2
    assert "no built-in module 'aw-watcher-nope'" in result.stderr


def test_a_watcher_does_not_load_the_server() -> None:
    """Each watcher process would otherwise carry Flask, waitress and peewee for nothing."""
    code = ("import sys\n"
            "from aw_qt.modules.run_module import run_module\n"
            "import watchers.afk.__main__\n"
            "print(sorted(m for m in ('flask', 'waitress', 'peewee', 'aw_server.serve')"
            " if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
