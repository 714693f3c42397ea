"""The entry point of the PyInstaller bundle: one executable for every command.

A bundle ships a single executable, `aw-qt`; the other commands run through it as
`aw-qt --run-module NAME ARGS...` (`aw_qt.modules.run_module`), dispatched here before
`aw_qt.__main__` and the server it embeds are imported.
"""

from __future__ import annotations

import multiprocessing
import sys

from aw_qt.modules.run_module import requested, run_module


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if requested(argv):
        return run_module(argv[1:])
    from aw_qt.__main__ import main as qt_main

    return qt_main(argv)


if __name__ == "__main__":
    # The server's query worker is a multiprocessing child; in a bundle it starts as this
    # executable with multiprocessing's own arguments, which this call recognises.
    multiprocessing.freeze_support()
    sys.exit(main())
