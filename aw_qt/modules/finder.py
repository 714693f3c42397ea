"""Finding the modules aw-qt can start, by ActivityWatch's rules.

Bundled modules are `aw-*` executables beside aw-qt (its folder, the folder above it,
macOS's `../MacOS`, and one level into `aw-*` sub-folders, which is how the
ActivityWatch bundle lays them out); system modules are `aw-*` executables on PATH,
the first one on PATH winning. A bundled module beats a system one of the same name.
Third-party watchers (`aw-watcher-*`) are found the same way as ours.

Our own watchers are also built in: a frozen bundle runs them as
`aw-qt --run-module NAME`, a source install as `python -m watchers.NAME`, so tracking
works even when no console script was installed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

IGNORED = frozenset({"aw-cli", "aw-client", "aw-qt", "aw-qt.desktop", "aw-qt.spec"})
# The server runs inside aw-qt; these names in `autostart_modules` mean "the server".
SERVER_MODULES = frozenset({"aw-server", "aw-server-rust"})
WINDOWS_EXTENSIONS = (".exe", ".bat", ".cmd")
BUILTIN = {"aw-watcher-afk": "watchers.afk", "aw-watcher-window": "watchers.window"}


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    argv: tuple[str, ...]  # the command, without aw-qt's extra flags
    source: str  # "bundled", "system" or "builtin"


def _module_name(path: Path) -> str | None:
    name = path.name
    if not name.startswith("aw-") or not path.is_file():
        return None
    if os.name == "nt":
        stem, ext = os.path.splitext(name)
        if ext.lower() not in WINDOWS_EXTENSIONS:
            return None
        name = stem
    elif name.endswith(".desktop") or not os.access(path, os.X_OK):
        return None
    return None if name in IGNORED or name in SERVER_MODULES else name


def _scan(folder: Path, recurse: bool) -> Iterable[tuple[str, Path]]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        name = _module_name(entry)
        if name is not None:
            yield name, entry
        elif recurse and entry.is_dir() and entry.name.startswith("aw-"):
            yield from _scan(entry, recurse=False)


def bundle_dirs() -> list[Path]:
    """Where a bundle keeps its modules: beside the executable (or script) that runs us."""
    exe = Path(sys.executable if getattr(sys, "frozen", False) else sys.argv[0]).resolve()
    here = exe.parent
    candidates = [here, here.parent]
    if sys.platform == "darwin":
        candidates.append(here.parent / "MacOS")
    if not getattr(sys, "frozen", False):
        candidates.append(Path(sys.executable).parent)  # a venv's bin/ holds the scripts
    unique: list[Path] = []
    for folder in candidates:
        if folder not in unique:
            unique.append(folder)
    return unique


def builtin_specs() -> dict[str, ModuleSpec]:
    if getattr(sys, "frozen", False):
        return {name: ModuleSpec(name, (sys.executable, "--run-module", name), "builtin")
                for name in BUILTIN}
    return {name: ModuleSpec(name, (sys.executable, "-m", module), "builtin")
            for name, module in BUILTIN.items()}


def discover(bundled: Iterable[Path] | None = None, path_env: str | None = None,
             *, builtin: bool = True) -> dict[str, ModuleSpec]:
    """Every startable module by name: bundled, else system (first on PATH), else built in."""
    found: dict[str, ModuleSpec] = {}
    for folder in bundle_dirs() if bundled is None else bundled:
        for name, path in _scan(folder, recurse=True):
            found.setdefault(name, ModuleSpec(name, (str(path),), "bundled"))
    path_env = os.environ.get("PATH", "") if path_env is None else path_env
    for entry in path_env.split(os.pathsep):
        if entry:
            for name, path in _scan(Path(entry), recurse=False):
                found.setdefault(name, ModuleSpec(name, (str(path),), "system"))
    if builtin:
        for name, spec in builtin_specs().items():
            found.setdefault(name, spec)
    return dict(sorted(found.items()))
