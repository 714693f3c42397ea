"""Our GNOME Shell extension: is it needed, is it there, and installing it for the user.

Plain Python (no Qt): the tray's offer, `aw-qt --install-gnome-extension` and the tests
all use these functions.

The extension ships as one shared body plus two entry files
(resources/gnome-shell-extension/): GNOME 43 and 44 load extensions as scripts through
`imports`, GNOME 45 and later as ES modules, and no single file is valid in both. The
installer writes `extension.js` for the running shell's version from the body and the
matching entry file, and copies `metadata.json`, into
`$XDG_DATA_HOME/gnome-shell/extensions/<uuid>/` (`~/.local/share/...`), then enables it
with `gnome-extensions enable`. GNOME Shell reads that folder only when it starts, so a
freshly installed extension runs after the next login on the versions we know of
(certainly before 46); enabling it is remembered in the user's settings meanwhile.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from watchers.dbus import DBusCallError, DBusUnavailableError, Endpoint, SessionBus
from watchers.resources import resources_dir
from watchers.window.backends.gnome import EXTENSION, EXTENSION_UUID, SHELL_EXTENSIONS

logger = logging.getLogger(__name__)

BODY_MARKER = "/* @FOCUSED_WINDOW_BODY@ */"
BODY_FILE = "focused-window.js"
FIRST_ESM_VERSION = 45  # GNOME 45 switched extensions to ES modules
FIRST_LIVE_LOAD_VERSION = 46  # before this, a new extension needs a log-out
SHELL = Endpoint("org.gnome.Shell", "/org/gnome/Shell", "org.gnome.Shell")
ENABLED_STATE = 1

OFFER_TITLE = "Window tracking on GNOME"
RESULT_TITLE = "GNOME Shell extension"
OFFER_TEXT = (
    "Window tracking on GNOME needs a small GNOME Shell extension that tells ActivityWatch "
    "which window has the focus (its application and title; nothing else, and nothing "
    "leaves this computer). Install it now?")
RELOGIN_TEXT = ("GNOME before version 46 loads new extensions only at login: log out and "
                "back in once to start window tracking.")


def source_dir() -> Path:
    return resources_dir() / "gnome-shell-extension"


def entry_file(shell_major: int) -> str:
    return "entry-esm.js" if shell_major >= FIRST_ESM_VERSION else "entry-legacy.js"


def build_extension_js(shell_major: int, source: Path | None = None) -> str:
    """`extension.js` for this GNOME version: the entry file with the shared body inside."""
    folder = source or source_dir()
    entry = (folder / entry_file(shell_major)).read_text(encoding="utf-8")
    body = (folder / BODY_FILE).read_text(encoding="utf-8")
    if entry.count(BODY_MARKER) != 1:
        raise ValueError(f"{entry_file(shell_major)} must hold {BODY_MARKER} exactly once")
    return entry.replace(BODY_MARKER, body.rstrip("\n"))


def extensions_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where GNOME Shell looks for a user's extensions (it follows XDG_DATA_HOME)."""
    env = os.environ if environ is None else environ
    data_home = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME", "~"), ".local/share")
    return Path(data_home).expanduser() / "gnome-shell" / "extensions"


def install_files(shell_major: int, target: Path | None = None,
                  source: Path | None = None) -> Path:
    """Write the extension for `shell_major` into its folder, replacing an older copy whole.

    The new folder is assembled beside the old one and renamed into place, so the shell
    never sees half an extension.
    """
    folder = source or source_dir()
    parent = target or extensions_dir()
    parent.mkdir(parents=True, exist_ok=True)
    destination = parent / EXTENSION_UUID
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=parent))
    try:
        (staging / "extension.js").write_text(build_extension_js(shell_major, folder),
                                              encoding="utf-8")
        shutil.copyfile(folder / "metadata.json", staging / "metadata.json")
        staging.chmod(0o755)
        if destination.exists():
            shutil.rmtree(destination)
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def is_gnome_wayland(environ: Mapping[str, str] | None = None) -> bool:
    """A GNOME session on Wayland, where window tracking needs our extension."""
    env = os.environ if environ is None else environ
    desktops = [d.strip().lower() for d in env.get("XDG_CURRENT_DESKTOP", "").split(":")]
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" or bool(env.get("WAYLAND_DISPLAY"))
    return wayland and any(d == "gnome" or d.startswith("gnome-") for d in desktops)


def parse_shell_version(text: str) -> tuple[int, int] | None:
    """"43.9" or "GNOME Shell 46.beta" → (43, 9) / (46, 0)."""
    for word in text.split():
        major, _, rest = word.partition(".")
        if major.isdigit():
            minor = rest.split(".")[0]
            return int(major), int(minor) if minor.isdigit() else 0
    return None


@dataclass(frozen=True)
class ExtensionStatus:
    shell_version: tuple[int, int] | None
    installed: bool  # our folder exists in the user's extensions
    enabled: bool  # the shell has it enabled (after a login on GNOME before 46)
    running: bool  # it answers on the session bus

    @property
    def needs_relogin(self) -> bool:
        return self.installed and not self.running and (
            self.shell_version is None or self.shell_version[0] < FIRST_LIVE_LOAD_VERSION)


def read_status(environ: Mapping[str, str] | None = None) -> ExtensionStatus:
    installed = (extensions_dir(environ) / EXTENSION_UUID / "metadata.json").is_file()
    try:
        bus = SessionBus.open()
    except DBusUnavailableError:
        return ExtensionStatus(None, installed, False, False)
    try:
        version = _shell_version(bus)
        running = bus.name_has_owner(EXTENSION.bus_name)
        enabled = running or _shell_state(bus) == ENABLED_STATE
    except DBusCallError:
        return ExtensionStatus(None, installed, False, False)
    finally:
        bus.close()
    return ExtensionStatus(version, installed, enabled, running)


def _shell_version(bus: SessionBus) -> tuple[int, int] | None:
    try:
        return parse_shell_version(str(bus.get_property(SHELL, "ShellVersion")))
    except DBusCallError:
        return None


def _shell_state(bus: SessionBus) -> int:
    try:
        info = bus.call(SHELL_EXTENSIONS, "GetExtensionInfo", "s", (EXTENSION_UUID,))[0]
    except DBusCallError:
        return 0
    return int(info.get("state", ("d", 0))[1]) if info else 0


def installed_shell_version() -> tuple[int, int] | None:
    """The version of the `gnome-shell` program, when the running shell cannot be asked."""
    try:
        out = subprocess.run(["gnome-shell", "--version"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_shell_version(out)


@dataclass(frozen=True)
class InstallResult:
    ok: bool
    message: str  # for the user: done, log out first, or what failed
    relogin: bool = False


def enable_extension() -> str | None:
    """Turn the extension on in the user's settings; None, or why it failed.

    `gnome-extensions enable` asks the running shell, which on GNOME before 46 does not
    know an extension installed after login and refuses; what it would have written is
    then written with `gsettings` (our UUID in `enabled-extensions`, and out of
    `disabled-extensions`, which wins), and the shell reads it at the next login.
    """
    try:
        done = _run(["gnome-extensions", "enable", EXTENSION_UUID])
        if done.returncode == 0:
            return None
        logger.info("gnome-extensions enable: %s", (done.stderr or done.stdout).strip())
        enabled = _setting("enabled-extensions")
        if EXTENSION_UUID not in enabled:
            _set_setting("enabled-extensions", [*enabled, EXTENSION_UUID])
        disabled = _setting("disabled-extensions")
        if EXTENSION_UUID in disabled:
            _set_setting("disabled-extensions", [u for u in disabled if u != EXTENSION_UUID])
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{exc} (are gnome-extensions and gsettings installed?)"
    except RuntimeError as exc:
        return str(exc)
    return None


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def _setting(key: str) -> list[str]:
    done = _run(["gsettings", "get", "org.gnome.shell", key])
    if done.returncode != 0:
        raise RuntimeError((done.stderr or "gsettings failed").strip())
    return parse_gvariant_strv(done.stdout)


def _set_setting(key: str, uuids: list[str]) -> None:
    value = "[" + ", ".join(f"'{uuid}'" for uuid in uuids) + "]"
    done = _run(["gsettings", "set", "org.gnome.shell", key, value])
    if done.returncode != 0:
        raise RuntimeError((done.stderr or "gsettings failed").strip())


def parse_gvariant_strv(text: str) -> list[str]:
    """`gsettings get` output for a list of plain ids: "['a@b', 'c@d']" or "@as []"."""
    inner = text.strip().removeprefix("@as").strip().strip("[]")
    return [item.strip().strip("'\"") for item in inner.split(",") if item.strip()]


def install_and_enable(environ: Mapping[str, str] | None = None) -> InstallResult:
    """Copy the right variant for the running shell and enable it; say what happens next."""
    status = read_status(environ)
    version = status.shell_version or installed_shell_version()
    if version is None:
        return InstallResult(False, "GNOME Shell was not found (neither running nor "
                                    "installed), so the extension cannot be installed.")
    try:
        folder = install_files(version[0], extensions_dir(environ))
    except (OSError, ValueError) as exc:
        return InstallResult(False, f"Could not install the GNOME Shell extension: {exc}")
    problem = enable_extension()
    if problem is not None:
        return InstallResult(False, f"The extension was copied to {folder} but could not be "
                                    f"enabled: {problem}")
    if _wait_until_running(environ):
        return InstallResult(True, "The GNOME Shell extension is installed and running: "
                                   "window tracking starts now.")
    return InstallResult(True, f"The GNOME Shell extension is installed and enabled. "
                               f"{RELOGIN_TEXT}", relogin=True)


def _wait_until_running(environ: Mapping[str, str] | None, timeout: float = 3.0) -> bool:
    """Whether the shell started the extension at once (it takes a moment when it does)."""
    deadline = time.monotonic() + timeout
    while True:
        if read_status(environ).running:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


WINDOW_WATCHER = "aw-watcher-window"


def offer_wanted(module: str, environ: Mapping[str, str] | None = None
                 ) -> ExtensionStatus | None:
    """The status to offer the install with, when `module` stopped for want of our extension.

    Only the window watcher on GNOME/Wayland needs it; an extension that is installed
    and enabled but waits for the next login needs no second install (the watcher's own
    reason already says to log out).
    """
    if module != WINDOW_WATCHER or not is_gnome_wayland(environ):
        return None
    status = read_status(environ)
    if status.running or (status.installed and status.enabled):
        return None
    return status


def offer_text(status: ExtensionStatus) -> str:
    """The offer's question; the log-out note where the running GNOME needs one."""
    version = status.shell_version
    if version is not None and version[0] >= FIRST_LIVE_LOAD_VERSION:
        return OFFER_TEXT
    return f"{OFFER_TEXT}\n\n{RELOGIN_TEXT}"
