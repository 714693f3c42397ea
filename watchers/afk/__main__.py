"""`aw-watcher-afk` command line: flags and config file, then the watcher loop."""

from __future__ import annotations

import argparse
import logging
import sys

from watchers.afk.backends import BACKEND_CHOICES, BackendUnavailableError, select_backend
from watchers.afk.watcher import CLIENT_NAME, DEFAULT_CONFIG, AfkSettings, AfkWatcher
from watchers.config import load_toml_config, section
from watchers.heartbeat import SystemClock
from watchers.launch import run_watcher
from watchers.runtime import EXIT_CONFIG, ParentWatch, add_common_arguments, setup_logging

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="aw-watcher-afk",
        description="Records whether you are at the computer, from the system idle time.")
    add_common_arguments(parser)
    parser.add_argument("--timeout", type=float,
                        help="seconds without input before AFK (config: timeout)")
    parser.add_argument("--poll-time", type=float, help="seconds between polls (config: poll_time)")
    parser.add_argument("--backend", choices=BACKEND_CHOICES,
                        help="idle source (default: detected from the session; \"wayland\" "
                             "detects the desktop, wlroots/gnome/kde force one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(CLIENT_NAME, args.testing, args.verbose)
    config = section(load_toml_config(CLIENT_NAME, DEFAULT_CONFIG), CLIENT_NAME, args.testing)
    try:
        settings = AfkSettings(
            timeout=float(args.timeout if args.timeout is not None else config["timeout"]),
            poll_time=float(args.poll_time if args.poll_time is not None else config["poll_time"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        logger.error("Invalid settings: %s", exc)
        return EXIT_CONFIG
    return run_watcher(
        CLIENT_NAME, "AFK", testing=args.testing, host=args.host, port=args.port,
        open_backend=lambda: select_backend(args.backend),
        unavailable=BackendUnavailableError, gone=BackendUnavailableError,
        make_loop=lambda backend, client, stopper: AfkWatcher(
            settings, backend, client, stopper=stopper, clock=SystemClock(),
            parent=ParentWatch()))

if __name__ == "__main__":
    sys.exit(main())
