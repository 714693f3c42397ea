"""Every filesystem location the project uses, in one place.

ActivityWatch keeps each module's files under `<platform dir>/activitywatch/<module>/`;
we use the same folders so a user's existing `aw-server.toml` keeps applying and the
old database sits right beside ours, ready to import. Tests and the tray redirect
everything with the standard XDG variables (or `AW_BASE_DIR`), never by patching.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "activitywatch"


def _base_override() -> Path | None:
    base = os.environ.get("AW_BASE_DIR")
    return Path(base) if base else None


def _dir(kind: str, module: str) -> Path:
    base = _base_override()
    if base is not None:
        path = base / kind / module
    elif kind == "data":
        path = Path(platformdirs.user_data_dir(APP)) / module
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP)) / module
    else:
        # ActivityWatch writes logs to <cache>/activitywatch/log/<module>/ on Linux.
        path = Path(platformdirs.user_cache_dir(APP)) / "log" / module
    return path


def data_dir(module: str) -> Path:
    return _dir("data", module)


def config_dir(module: str) -> Path:
    return _dir("config", module)


def log_dir(module: str) -> Path:
    return _dir("log", module)


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
