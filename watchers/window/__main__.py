"""`aw-watcher-window` command line: flags and config file, then the watcher loop."""

from __future__ import annotations

import argparse
import logging
import sys

from watchers.afk.backends import BACKEND_CHOICES
from watchers.client import Client, queue_path
from watchers.config import load_toml_config, section
from watchers.heartbeat import SystemClock
from watchers.launch import run_watcher
from watchers.runtime import (
    EXIT_CONFIG,
    ParentWatch,
    Stopper,
    add_common_arguments,
    setup_logging,
)
from watchers.window.backends import (
    BackendGoneError,
    BackendUnavailableError,
    WindowBackend,
    select_backend,
)
from watchers.window.privacy import InvalidPatternError, PrivacyRules
from watchers.window.shared_privacy import SETTING_KEY, SharedPrivacy
from watchers.window.watcher import CLIENT_NAME, DEFAULT_CONFIG, WindowSettings, WindowWatcher

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="aw-watcher-window",
        description="Records the focused window's app and title. "
                    "X11; Wayland on wlroots compositors, GNOME and KDE Plasma; macOS; Windows.")
    add_common_arguments(parser)
    parser.add_argument("--poll-time", type=float, help="seconds between polls (config: poll_time)")
    parser.add_argument("--exclude-title", action="store_true", default=None,
                        help='record every title as "excluded" (config: exclude_title)')
    parser.add_argument("--exclude-titles", nargs="+", metavar="REGEX",
                        help="hide titles matching any of these case-insensitive regexes "
                             "(config: exclude_titles)")
    parser.add_argument("--exclude-apps", nargs="+", metavar="REGEX",
                        help="hide the titles of apps matching these regexes "
                             "(config: exclude_apps)")
    parser.add_argument("--backend", choices=BACKEND_CHOICES,
                        help="window source (default: detected from the session; \"wayland\" "
                             "detects the desktop, wlroots/gnome/kde force one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(CLIENT_NAME, args.testing, args.verbose)
    config = section(load_toml_config(CLIENT_NAME, DEFAULT_CONFIG), CLIENT_NAME, args.testing)
    try:
        settings = WindowSettings(
            poll_time=float(args.poll_time if args.poll_time is not None else config["poll_time"]))
        privacy = PrivacyRules.from_config(
            args.exclude_title if args.exclude_title is not None else config["exclude_title"],
            args.exclude_titles if args.exclude_titles is not None else config["exclude_titles"],
            args.exclude_apps if args.exclude_apps is not None else config["exclude_apps"],
        )
    except (InvalidPatternError, KeyError, TypeError, ValueError) as exc:
        logger.error("Invalid settings: %s", exc)
        return EXIT_CONFIG

    def make_loop(backend: WindowBackend, client: Client, stopper: Stopper) -> WindowWatcher:
        shared = SharedPrivacy(privacy, lambda: client.get_setting(SETTING_KEY),
                               queue_path(CLIENT_NAME, args.testing).with_suffix(".privacy.json"))
        shared.start(stopper)
        return WindowWatcher(settings, backend, shared, client, stopper=stopper,
                             clock=SystemClock(), parent=ParentWatch())

    return run_watcher(
        CLIENT_NAME, "Window", testing=args.testing, host=args.host, port=args.port,
        open_backend=lambda: select_backend(args.backend),
        unavailable=BackendUnavailableError, gone=BackendGoneError, make_loop=make_loop)

if __name__ == "__main__":
    sys.exit(main())
