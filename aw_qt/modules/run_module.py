"""`aw-qt --run-module NAME ARGS...`: run a built-in command inside this process.

A bundle ships a single executable, so its other commands run through it: the
supervisor starts the built-in watchers this way when frozen, and a user runs the
stand-alone server (`aw-qt --run-module aw-server import FILE`) the same way. Both
entry points, `aw_qt.__main__` and the bundle's `aw_qt.frozen`, hand such a command
line here before importing the tray: the tray pulls in the server (Flask, waitress,
peewee), about 13 MB of RSS that each watcher process would carry for nothing.
"""

from __future__ import annotations

import importlib
import sys

from aw_qt.modules.finder import BUILTIN

FLAG = "--run-module"


def requested(argv: list[str]) -> bool:
    """Whether this command line asks for a built-in command rather than the tray."""
    return argv[:1] == [FLAG] and len(argv) > 1


def run_module(argv: list[str]) -> int:
    """Run `NAME ARGS...` (the words after `--run-module`) and return its exit code."""
    name, rest = argv[0], argv[1:]
    if name == "aw-server":
        from aw_server.cli import main as server_main

        return server_main(rest)
    if name in BUILTIN:
        module = importlib.import_module(f"{BUILTIN[name]}.__main__")
        return int(module.main(rest))
    print(f"aw-qt: no built-in module {name!r}", file=sys.stderr)
    return 2
