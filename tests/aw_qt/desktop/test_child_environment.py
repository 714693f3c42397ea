"""The environment for children of a bundle: real environment dicts, as a PyInstaller
bootloader and its Qt runtime hook leave them, and a real xdg-open started with it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from aw_qt.desktop import child_environment as environment
from aw_qt.desktop.child_environment import child_environment, clean_environment, open_with_desktop
from tests.aw_qt.helpers import living_children, wait_for

BUNDLE = "/home/ann/.local/opt/aw-qt/_internal"
ROOTS = (BUNDLE,)

# What `env` printed inside a one-folder bundle started by a user who had set
# LD_LIBRARY_PATH themselves (bootloader: prepend + _ORIG; PyQt6 hook: QT_PLUGIN_PATH).
USER = {
    "HOME": "/home/ann",
    "PATH": "/home/ann/bin:/usr/local/bin:/usr/bin:/bin",
    "LD_LIBRARY_PATH": "/opt/cuda/lib64",
    "DISPLAY": ":0",
    "LANG": "de_DE.UTF-8",
}
IN_BUNDLE = {
    **USER,
    "LD_LIBRARY_PATH": f"{BUNDLE}:/opt/cuda/lib64",
    "LD_LIBRARY_PATH_ORIG": "/opt/cuda/lib64",
    "_PYI_APPLICATION_HOME_DIR": BUNDLE,
    "_PYI_ARCHIVE_FILE": "/home/ann/.local/opt/aw-qt/aw-qt",
    "_PYI_PARENT_PROCESS_LEVEL": "1",
    "QT_PLUGIN_PATH": f"{BUNDLE}/PyQt6/Qt6/plugins",
    "QML2_IMPORT_PATH": f"{BUNDLE}/PyQt6/Qt6/qml",
}


def test_outside_a_bundle_nothing_changes() -> None:
    assert clean_environment(IN_BUNDLE, ()) == IN_BUNDLE


def test_a_bundle_gives_back_what_the_user_had() -> None:
    assert clean_environment(IN_BUNDLE, ROOTS) == USER


def test_a_variable_the_user_never_had_is_dropped() -> None:
    no_ld = {k: v for k, v in USER.items() if k != "LD_LIBRARY_PATH"}
    bundled = {k: v for k, v in IN_BUNDLE.items() if k != "LD_LIBRARY_PATH_ORIG"}
    bundled["LD_LIBRARY_PATH"] = BUNDLE  # the bootloader saves nothing when it was unset
    assert clean_environment(bundled, ROOTS) == no_ld


def test_a_value_the_qt_hook_overwrote_comes_back_from_the_launch_snapshot() -> None:
    launch = {**IN_BUNDLE, "QT_PLUGIN_PATH": "/usr/lib/qt6/plugins"}
    launch.pop("QML2_IMPORT_PATH")
    env = clean_environment(IN_BUNDLE, ROOTS, launch)
    assert env["QT_PLUGIN_PATH"] == "/usr/lib/qt6/plugins"
    assert "QML2_IMPORT_PATH" not in env


def test_bundle_entries_leave_path_lists_in_order() -> None:
    env = {"PATH": f"/a:{BUNDLE}:/b::{BUNDLE}/bin:/c",
           "XDG_DATA_DIRS": f"{BUNDLE}/share:/usr/local/share:/usr/share"}
    assert clean_environment(env, ROOTS) == {"PATH": "/a:/b::/c",
                                             "XDG_DATA_DIRS": "/usr/local/share:/usr/share"}


def test_only_paths_really_inside_the_bundle_count() -> None:
    env = {"PATH": f"{BUNDLE}2/bin:/home/ann/.local/opt/aw-qt:relative/{BUNDLE}",
           "NOTE": "see _internal for details", "PYTHONSAFEPATH": "1"}
    assert clean_environment(env, ROOTS) == env


def test_a_users_own_orig_variable_is_left_alone() -> None:
    env = {"EDITOR": "vim", "EDITOR_ORIG": "nano", "TZ_ORIG": "UTC"}
    assert clean_environment(env, ROOTS) == env


def test_bootloader_bookkeeping_is_dropped() -> None:
    env = {"_PYI_SPLASH_IPC": "0", "_MEIPASS2": BUNDLE, "PYINSTALLER_RESET_ENVIRONMENT": "1",
           "HOME": "/home/ann"}
    assert clean_environment(env, ROOTS) == {"HOME": "/home/ann"}


def test_an_empty_user_value_is_restored_as_empty() -> None:
    env = {"LD_LIBRARY_PATH": f"{BUNDLE}:", "LD_LIBRARY_PATH_ORIG": ""}
    assert clean_environment(env, ROOTS) == {"LD_LIBRARY_PATH": ""}


@pytest.fixture
def frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process dressed as a bundle: sys.frozen, sys._MEIPASS and the bundle's env."""
    bundle = tmp_path / "aw-qt" / "_internal"
    bundle.mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setattr(environment, "_launch_environment", None)
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{bundle}:/opt/user/lib")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/opt/user/lib")
    monkeypatch.setenv("_PYI_APPLICATION_HOME_DIR", str(bundle))
    monkeypatch.setenv("QT_PLUGIN_PATH", str(bundle / "PyQt6" / "Qt6" / "plugins"))
    return bundle


def test_child_environment_of_a_bundle(frozen: Path) -> None:
    environment.record_launch_environment({**os.environ, "QT_PLUGIN_PATH": "/usr/lib/qt"})
    env = child_environment()
    assert env["LD_LIBRARY_PATH"] == "/opt/user/lib"
    assert env["QT_PLUGIN_PATH"] == "/usr/lib/qt"
    assert not any(k.startswith("_PYI_") or k.endswith("_ORIG") for k in env)
    assert env["HOME"] == os.environ["HOME"]


@pytest.mark.skipif(sys.platform != "linux", reason="xdg-open is the Linux opener")
def test_open_with_desktop_runs_xdg_open_with_the_users_environment(
        frozen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub_dir = tmp_path / "stub"
    stub_dir.mkdir()
    record = tmp_path / "record"
    stub = stub_dir / "xdg-open"
    stub.write_text(f'#!/bin/sh\nenv > "{record}.env"\nprintf "%s" "$1" > "{record}.tmp"\n'
                    f'mv "{record}.tmp" "{record}"\n')
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub_dir}{os.pathsep}{frozen}{os.pathsep}"
                               f"{os.environ['PATH']}")
    assert open_with_desktop("http://127.0.0.1:5600/")
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert record.read_text() == "http://127.0.0.1:5600/"
    wait_for(lambda: not any("xdg-open" in cmd for cmd in living_children().values()))
    seen = dict(line.split("=", 1) for line in
                Path(f"{record}.env").read_text().splitlines() if "=" in line)
    assert seen["LD_LIBRARY_PATH"] == "/opt/user/lib"
    assert str(frozen) not in seen["PATH"]
    assert "QT_PLUGIN_PATH" not in seen and "_PYI_APPLICATION_HOME_DIR" not in seen


def test_open_with_desktop_leaves_an_unfrozen_app_to_qt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert not open_with_desktop("http://127.0.0.1:5600/")
