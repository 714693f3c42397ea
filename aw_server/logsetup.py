"""Logging for every command: stderr plus a rotating file in the platform log folder."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from aw_server import dirs


def setup_logging(module: str, *, testing: bool = False, verbose: bool = False,
                  to_file: bool = True) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    fmt = logging.Formatter("%(asctime)s [%(levelname)-5s] %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    if to_file:
        try:
            folder = dirs.ensure(dirs.log_dir(module))
            name = f"{module}{'-testing' if testing else ''}.log"
            rotating = logging.handlers.RotatingFileHandler(
                folder / name, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
            rotating.setFormatter(fmt)
            root.addHandler(rotating)
        except OSError as exc:
            logging.getLogger(__name__).warning("cannot write log file: %s", exc)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
