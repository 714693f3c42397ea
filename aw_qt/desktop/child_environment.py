"""The environment for programs aw-qt starts: the user's, not the bundle's.

A PyInstaller bundle changes its own environment so that it can load its libraries:
the bootloader puts the bundle first on `LD_LIBRARY_PATH` (saving the user's value as
`LD_LIBRARY_PATH_ORIG`) and sets `_PYI_*` bookkeeping variables; PyInstaller's Qt
runtime hook sets `QT_PLUGIN_PATH` and `QML2_IMPORT_PATH` to the bundle; on Windows
and macOS the bundle goes first on `PATH` / `DYLD_LIBRARY_PATH`. A program started
with that environment (xdg-open, the browser it starts, a file manager, a third-party
watcher) loads the bundle's old copies of libraries instead of the system's and can
crash or do nothing: ActivityWatch #208/#418, where the tray's "Open Dashboard" did
nothing on several distributions.

`clean_environment` is a pure function over plain dicts, so it is tested with real
environments; `child_environment` applies it to this process. Outside a bundle it
returns the environment unchanged.

`record_launch_environment` is called by the bundle's own runtime hook, which
PyInstaller runs before its Qt hook: variables that hook overwrites without saving
the old value (`QT_PLUGIN_PATH`) can then be given back as the user had them.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import PurePath

logger = logging.getLogger(__name__)

ORIG_SUFFIX = "_ORIG"
# Bootloader bookkeeping: a child that inherits these believes it is part of our
# process tree (in one-file mode it would even reuse our unpacked folder).
BOOTLOADER_PREFIXES = ("_PYI_", "_MEIPASS")
BOOTLOADER_VARS = frozenset({"PYINSTALLER_RESET_ENVIRONMENT"})

_launch_environment: dict[str, str] | None = None


def record_launch_environment(environ: Mapping[str, str] | None = None) -> None:
    """Remember the environment as the bundle was started with (before Qt's hook ran)."""
    global _launch_environment
    _launch_environment = dict(os.environ if environ is None else environ)


def bundle_roots() -> tuple[str, ...]:
    """The folders that belong to the running bundle; empty when not frozen.

    `sys._MEIPASS` is the bundle's library folder (`_internal/` in a Linux or Windows
    one-folder build, `Contents/Frameworks` in a macOS .app, whose data files sit in
    the sibling `Contents/Resources`). The folder holding the executable itself is not
    included: a user may have put it on PATH on purpose.
    """
    if not getattr(sys, "frozen", False):
        return ()
    meipass = getattr(sys, "_MEIPASS", None)
    if not meipass:
        return ()
    roots = [os.path.abspath(meipass)]
    if sys.platform == "darwin" and PurePath(roots[0]).name == "Frameworks":
        roots.append(os.path.join(os.path.dirname(roots[0]), "Resources"))
    return tuple(roots)


def _inside(entry: str, roots: Iterable[str]) -> bool:
    """Whether a path-like value names something inside one of the bundle's folders."""
    if not entry or not os.path.isabs(entry):
        return False
    path = os.path.normcase(os.path.normpath(entry))
    for root in roots:
        base = os.path.normcase(os.path.normpath(root))
        if path == base or path.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def _mentions(value: str, roots: Iterable[str]) -> bool:
    return any(_inside(entry, roots) for entry in value.split(os.pathsep))


def _without_bundle(value: str, roots: Iterable[str]) -> str:
    """A PATH-like value with the bundle's entries removed (order kept)."""
    return os.pathsep.join(entry for entry in value.split(os.pathsep)
                           if not _inside(entry, roots))


def clean_environment(environ: Mapping[str, str], roots: Iterable[str],
                      launch: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` as it would be had the user started the child directly.

    In order: a variable the bundle overwrote after launch gets its launch value back;
    `X` is restored from `X_ORIG` where the bundle saved it; entries inside the bundle
    are removed from every PATH-like value, and a variable left empty by that is
    dropped (the user never had it); the bootloader's own variables are dropped.
    With no bundle roots, `environ` is returned unchanged.
    """
    roots = tuple(roots)
    env = dict(environ)
    if not roots:
        return env
    if launch is not None:
        for key, value in launch.items():
            current = env.get(key)
            if current is not None and current != value and _mentions(current, roots):
                env[key] = value
    for key in [k for k in env if k.endswith(ORIG_SUFFIX)]:
        name = key.removesuffix(ORIG_SUFFIX)
        # Only undo what the bundle did: a user's own FOO_ORIG next to an untouched (or
        # absent) FOO is left alone.
        if name in env and _mentions(env[name], roots):
            env[name] = env.pop(key)
    for key, value in list(env.items()):
        if key in BOOTLOADER_VARS or key.startswith(BOOTLOADER_PREFIXES):
            del env[key]
        elif _mentions(value, roots):
            kept = _without_bundle(value, roots)
            if kept.strip(os.pathsep):
                env[key] = kept
            else:
                del env[key]
    return env


def child_environment() -> dict[str, str]:
    """The environment for a program aw-qt starts: the user's own when we are frozen."""
    roots = bundle_roots()
    env = clean_environment(os.environ, roots, _launch_environment)
    if roots:
        dropped = sorted(set(os.environ) - set(env))
        changed = sorted(k for k in env if k in os.environ and env[k] != os.environ[k])
        logger.debug("child environment: dropped %s, restored %s", dropped, changed)
    return env


def open_with_desktop(target: str) -> bool:
    """Open a URL or a folder with `xdg-open`, in the user's environment, if frozen on Linux.

    Qt's `QDesktopServices` runs xdg-open itself, but with our environment, so in a
    bundle the browser or file manager would start with the bundle's libraries. Returns
    False when this does not apply (not frozen, not Linux, no xdg-open) or the program
    cannot be started, so the caller falls back to `QDesktopServices`.
    """
    if not sys.platform.startswith("linux") or not bundle_roots():
        return False
    env = child_environment()
    opener = shutil.which("xdg-open", path=env.get("PATH", os.defpath))
    if opener is None:
        logger.warning("xdg-open not found on PATH; asking Qt to open %s", target)
        return False
    try:
        # Its own session: the browser it may start must outlive a quitting aw-qt.
        proc = subprocess.Popen([opener, target], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        logger.warning("cannot run %s: %s; asking Qt to open %s", opener, exc, target)
        return False
    logger.info("opening %s with %s (pid %s)", target, opener, proc.pid)

    def reap() -> None:  # no zombie left behind, and a failure reaches the log
        code = proc.wait()
        if code != 0:
            logger.warning("%s %s exited with code %s", opener, target, code)

    threading.Thread(target=reap, name="xdg-open-reaper", daemon=True).start()
    return True
