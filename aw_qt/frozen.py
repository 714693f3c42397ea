"""The entry point of the PyInstaller bundle: one executable for every command.

A bundle ships a single executable, `aw-qt`; the other commands run through it as
`aw-qt --run-module NAME ARGS...`, which is also how the supervisor starts the
watchers when frozen. The server, which aw-qt otherwise embeds, is dispatched here,
so `aw-qt --run-module aw-server import FILE` and a stand-alone server work from a
bundle too. The watchers are dispatched here as well, before `aw_qt.__main__` is
imported: that module pulls in the server (Flask, waitress, peewee), about 13 MB of
RSS that each watcher process would carry for nothing.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys

from aw_qt.discovery import BUILTIN


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run-module"] and len(argv) > 1:
        name, rest = argv[1], argv[2:]
        if name == "aw-server":
            from aw_server.cli import main as server_main

            return server_main(rest)
        if name in BUILTIN:
            module = importlib.import_module(f"{BUILTIN[name]}.__main__")
            return int(module.main(rest))
    from aw_qt.__main__ import main as qt_main

    return qt_main(argv)


if __name__ == "__main__":
    # The server's query worker is a multiprocessing child; in a bundle it starts as this
    # executable with multiprocessing's own arguments, which this call recognises.
    multiprocessing.freeze_support()
    sys.exit(main())
