"""aw-qt's settings: `aw-qt.toml` in its config folder, then command-line flags.

Like ActivityWatch, the file has an `[aw-qt]` section and an `[aw-qt-testing]` one
for `--testing`, and is written on first run with every key commented out.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aw_server import dirs

logger = logging.getLogger(__name__)

MODULE = "aw-qt"
DEFAULT_MODULES = ("aw-server", "aw-watcher-afk", "aw-watcher-window")

DEFAULT_CONFIG_TEXT = """\
# Configuration of aw-qt, the ActivityWatch tray. Every key shows its default,
# commented out: remove the leading '#' to change it.

[aw-qt]
# Modules started with aw-qt. "aw-server" is the server built into aw-qt; other names
# are executables found beside aw-qt or on PATH (third-party "aw-watcher-*" too).
# --autostart-modules a,b,c overrides this list for one run ("none": no modules).
#autostart_modules = ["aw-server", "aw-watcher-afk", "aw-watcher-window"]
# When a pause "until tomorrow" ends (local time, HH:MM).
#day_start = "04:00"

[aw-qt-testing]
#autostart_modules = ["aw-server", "aw-watcher-afk", "aw-watcher-window"]
#day_start = "04:00"
"""


@dataclass(frozen=True)
class QtConfig:
    autostart_modules: tuple[str, ...] = DEFAULT_MODULES
    day_start: str = "04:00"


def config_path() -> Path:
    return dirs.config_dir(MODULE) / "aw-qt.toml"


def load_config(path: Path | None = None, *, testing: bool = False) -> QtConfig:
    path = path or config_path()
    if not path.exists():
        try:
            dirs.ensure(path.parent)
            path.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
        except OSError as exc:
            logger.warning("could not write default config %s: %s", path, exc)
        return QtConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.error("cannot read %s (%s); using the defaults", path, exc)
        return QtConfig()
    section = raw.get("aw-qt-testing" if testing else "aw-qt", {})
    config = QtConfig()
    modules = section.get("autostart_modules", config.autostart_modules)
    if isinstance(modules, str):
        modules = parse_module_list(modules)
    day_start = str(section.get("day_start", config.day_start))
    return QtConfig(tuple(str(m) for m in modules), day_start)


def parse_module_list(text: str) -> tuple[str, ...]:
    """`--autostart-modules`: comma-separated names, or "none"."""
    if text.strip().lower() == "none":
        return ()
    return tuple(n.strip() for n in text.split(",") if n.strip())
