"""The GNOME extension's build and installer, without a screen (the installed extension
runs in a real gnome-shell in tests/watchers/wayland/test_gnome.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aw_qt.desktop.gnome_extension import (
    BODY_MARKER,
    build_extension_js,
    extensions_dir,
    install_files,
    is_gnome_wayland,
    parse_gvariant_strv,
    parse_shell_version,
    source_dir,
)
from watchers.window.backends.gnome import EXTENSION, EXTENSION_UUID


def test_metadata_names_our_uuid_and_gnome_43_to_47() -> None:
    metadata = json.loads((source_dir() / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["uuid"] == EXTENSION_UUID
    assert metadata["shell-version"] == ["43", "44", "45", "46", "47"]


def test_both_variants_carry_the_shared_body_once_in_their_own_module_system() -> None:
    body = (source_dir() / "focused-window.js").read_text(encoding="utf-8").rstrip("\n")
    legacy, esm = build_extension_js(44), build_extension_js(45)
    for built in (legacy, esm):
        assert built.count(body) == 1 and BODY_MARKER not in built
        assert EXTENSION.bus_name in built and EXTENSION.path in built
    assert "imports.gi" in legacy and "function init()" in legacy
    assert not re.search(r"^(import|export)\b", legacy, re.MULTILINE)
    assert "export default class" in esm and "= imports" not in esm
    assert build_extension_js(43) == legacy and build_extension_js(47) == esm


def test_the_gnome_45_variant_is_a_valid_es_module(tmp_path: Path) -> None:
    """GNOME 45 is not here to load it; gjs parses and links it like the shell would, and
    the only thing it cannot find is the shell's own extension.js."""
    gjs = shutil.which("gjs")
    if gjs is None:
        pytest.fail("gjs is missing (scripts/test installs it: apt-get install gjs)")
    module = tmp_path / "extension.js"
    module.write_text(build_extension_js(45), encoding="utf-8")
    typelibs = "/usr/lib/gnome-shell:/usr/lib/x86_64-linux-gnu/mutter-11"
    done = subprocess.run([gjs, "-m", str(module)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "GI_TYPELIB_PATH": typelibs},
                          check=False)
    assert "SyntaxError" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "JS ERROR" in line]
    assert len(errors) == 1 and "org/gnome/shell/extensions/extension.js" in errors[0], \
        done.stderr
    broken = tmp_path / "broken.js"
    broken.write_text(build_extension_js(45).replace("enable() {", "enable() {{", 1))
    failed = subprocess.run([gjs, "-m", str(broken)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert "SyntaxError" in failed.stderr  # the check above would notice a broken build


def test_install_writes_the_variant_and_replaces_an_older_copy_whole(tmp_path: Path) -> None:
    target = tmp_path / "extensions"
    folder = install_files(43, target)
    assert folder == target / EXTENSION_UUID
    assert sorted(p.name for p in folder.iterdir()) == ["extension.js", "metadata.json"]
    assert (folder / "extension.js").read_text(encoding="utf-8") == build_extension_js(43)
    (folder / "stale.js").write_text("old")
    install_files(46, target)
    assert sorted(p.name for p in folder.iterdir()) == ["extension.js", "metadata.json"]
    assert "export default class" in (folder / "extension.js").read_text(encoding="utf-8")
    assert [p.name for p in target.iterdir()] == [EXTENSION_UUID]  # no staging left


def test_extensions_folder_follows_xdg_data_home() -> None:
    assert extensions_dir({"HOME": "/home/u"}) == \
        Path("/home/u/.local/share/gnome-shell/extensions")
    assert extensions_dir({"HOME": "/home/u", "XDG_DATA_HOME": "/d"}) == \
        Path("/d/gnome-shell/extensions")


@pytest.mark.parametrize(("env", "expected"), [
    ({"XDG_CURRENT_DESKTOP": "GNOME", "XDG_SESSION_TYPE": "wayland"}, True),
    ({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"XDG_CURRENT_DESKTOP": "GNOME-Classic:GNOME", "XDG_SESSION_TYPE": "wayland"}, True),
    ({"XDG_CURRENT_DESKTOP": "GNOME", "XDG_SESSION_TYPE": "x11"}, False),
    ({"XDG_CURRENT_DESKTOP": "KDE", "XDG_SESSION_TYPE": "wayland"}, False),
    ({"XDG_CURRENT_DESKTOP": "sway", "WAYLAND_DISPLAY": "wayland-1"}, False),
])
def test_gnome_on_wayland_is_recognised(env: dict[str, str], expected: bool) -> None:
    assert is_gnome_wayland(env) is expected


def test_versions_and_settings_lists_are_read_as_the_tools_print_them() -> None:
    assert parse_shell_version("43.9") == (43, 9)
    assert parse_shell_version("GNOME Shell 46.beta\n") == (46, 0)
    assert parse_shell_version("nothing") is None
    assert parse_gvariant_strv("@as []\n") == []
    assert parse_gvariant_strv("['a@b', 'c@d.org']\n") == ["a@b", "c@d.org"]
