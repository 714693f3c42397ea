"""Start at login: the one switch, per platform.

- Linux and other XDG desktops: `$XDG_CONFIG_HOME/autostart/aw-qt.desktop`. An entry
  with `Hidden=true` or `X-GNOME-Autostart-enabled=false` counts as off (GNOME's
  startup-apps switch flips the latter). Turning it off deletes our file, or, when a
  system-wide entry in `$XDG_CONFIG_DIRS/autostart` would still start us, writes a
  user entry with both keys set, which overrides it. `Icon=` is the packaged icon's
  absolute path: no install of ours puts an icon into the desktop's icon theme.
- macOS: a LaunchAgent `~/Library/LaunchAgents/net.activitywatch.aw-qt.plist`
  (`RunAtLoad`, no `KeepAlive`); it takes effect at the next login.
- Windows: value "ActivityWatch" under `HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Protocol

from watchers.resources import resources_dir

DESKTOP_NAME = "aw-qt.desktop"
LAUNCH_AGENT_LABEL = "net.activitywatch.aw-qt"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "ActivityWatch"
DESKTOP_ICON_SIZE = 256


def desktop_icon() -> Path | None:
    """The packaged icon a desktop entry should name by absolute path: a pip install
    puts nothing into the icon theme, so a theme name (`Icon=activitywatch`) would
    show a blank square in the login-items list."""
    folder = resources_dir()
    for path in (folder / "icons" / f"aw-qt-{DESKTOP_ICON_SIZE}.png", folder / "aw-qt.svg"):
        if path.is_file():
            return path.resolve()
    return None


class Autostart(Protocol):
    def is_enabled(self) -> bool: ...

    def set_enabled(self, enabled: bool) -> None: ...


def launch_command() -> list[str]:
    """How the login session should start us: the bundle, the installed script, or -m."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).parent / "aw-qt"
    if script.exists():
        return [str(script)]
    found = shutil.which("aw-qt")
    return [found] if found else [sys.executable, "-m", "aw_qt"]


def _exec_quote(arg: str) -> str:
    """Quote one Exec= argument as the Desktop Entry spec says."""
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def _read_entry(path: Path) -> dict[str, str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    keys: dict[str, str] = {}
    in_entry = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            in_entry = line == "[Desktop Entry]"
        elif in_entry and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return keys


def _entry_enabled(keys: dict[str, str]) -> bool:
    return (keys.get("Hidden", "false").lower() != "true"
            and keys.get("X-GNOME-Autostart-enabled", "true").lower() != "false")


class XdgAutostart:
    def __init__(self, config_home: Path | None = None,
                 config_dirs: list[Path] | None = None,
                 command: list[str] | None = None, icon: Path | None = None) -> None:
        home = config_home or Path(os.environ.get("XDG_CONFIG_HOME")
                                   or Path.home() / ".config")
        self.path = home / "autostart" / DESKTOP_NAME
        if config_dirs is None:
            raw = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
            config_dirs = [Path(p) for p in raw.split(":") if p]
        self.system_paths = [d / "autostart" / DESKTOP_NAME for d in config_dirs]
        self.command = command or launch_command()
        self.icon = icon or desktop_icon()

    def _system_entry(self) -> dict[str, str] | None:
        for path in self.system_paths:
            keys = _read_entry(path)
            if keys is not None:
                return keys
        return None

    def is_enabled(self) -> bool:
        keys = _read_entry(self.path)
        if keys is None:  # no user entry: a system-wide one may still apply
            keys = self._system_entry()
        return keys is not None and _entry_enabled(keys)

    def desktop_text(self, enabled: bool = True) -> str:
        lines = ["[Desktop Entry]", "Type=Application", "Name=ActivityWatch",
                 "Comment=Automated time tracker (tray)",
                 "Exec=" + " ".join(_exec_quote(a) for a in self.command)]
        if self.icon is not None:  # Icon= takes a path as it is, without quoting
            lines.append(f"Icon={self.icon}")
        lines += ["Terminal=false", "X-GNOME-Autostart-Delay=5", "X-KDE-autostart-after=panel"]
        if not enabled:
            lines += ["Hidden=true", "X-GNOME-Autostart-enabled=false"]
        else:
            lines.append("X-GNOME-Autostart-enabled=true")
        return "\n".join(lines) + "\n"

    def set_enabled(self, enabled: bool) -> None:
        system = self._system_entry()
        if not enabled and (system is None or not _entry_enabled(system)):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(self.desktop_text(enabled), encoding="utf-8")
        os.replace(tmp, self.path)


class LaunchAgentAutostart:
    """macOS's login item. `plistlib` (and the XML parser under it) is imported where a
    plist is read or written, so other systems' trays never load it."""

    def __init__(self, home: Path | None = None, command: list[str] | None = None) -> None:
        base = home or Path.home()
        self.path = base / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        self.command = command or launch_command()

    def is_enabled(self) -> bool:
        import plistlib

        try:
            with self.path.open("rb") as handle:
                plist = plistlib.load(handle)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return False
        return bool(plist.get("RunAtLoad")) and not plist.get("Disabled", False)

    def set_enabled(self, enabled: bool) -> None:
        if not enabled:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        import plistlib

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as handle:
            plistlib.dump({"Label": LAUNCH_AGENT_LABEL, "ProgramArguments": self.command,
                           "RunAtLoad": True, "KeepAlive": False,
                           "ProcessType": "Interactive"}, handle)


class WindowsRunKeyAutostart:  # pragma: no cover - needs Windows
    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or launch_command()

    def is_enabled(self) -> bool:
        winreg: Any = importlib.import_module("winreg")

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.QueryValueEx(key, RUN_VALUE)
        except OSError:
            return False
        return True

    def set_enabled(self, enabled: bool) -> None:
        winreg: Any = importlib.import_module("winreg")

        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0,
                            winreg.KEY_SET_VALUE) as key:
            if enabled:
                command = " ".join(f'"{a}"' for a in self.command)
                winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, command)
            else:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, RUN_VALUE)


def for_platform() -> Autostart:
    if sys.platform == "win32":
        return WindowsRunKeyAutostart()
    if sys.platform == "darwin":
        return LaunchAgentAutostart()
    return XdgAutostart()
