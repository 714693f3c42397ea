"""`aw-watcher-window` command line: its own flags and settings; `watchers.command` does
the rest."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from watchers.afk.backends import BACKEND_CHOICES
from watchers.client import Client, queue_path
from watchers.command import WatcherCommand, flag_or_config
from watchers.heartbeat import SystemClock
from watchers.process import ParentWatch, Stopper
from watchers.window.backends import (
    BackendGoneError,
    BackendUnavailableError,
    WindowBackend,
    select_backend,
)
from watchers.window.privacy import InvalidPatternError, PrivacyRules
from watchers.window.shared_privacy import SETTING_KEY, SharedPrivacy
from watchers.window.watcher import CLIENT_NAME, DEFAULT_CONFIG, WindowSettings, WindowWatcher


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exclude-title", action="store_true", default=None,
                        help='record every title as "excluded" (config: exclude_title)')
    parser.add_argument("--exclude-titles", nargs="+", metavar="REGEX",
                        help="hide titles matching any of these case-insensitive regexes "
                             "(config: exclude_titles)")
    parser.add_argument("--exclude-apps", nargs="+", metavar="REGEX",
                        help="hide the titles of apps matching these regexes "
                             "(config: exclude_apps)")


def read_settings(args: argparse.Namespace,
                  config: Mapping[str, Any]) -> tuple[WindowSettings, PrivacyRules]:
    settings = WindowSettings(poll_time=float(flag_or_config(args.poll_time, config, "poll_time")))
    privacy = PrivacyRules.from_config(
        flag_or_config(args.exclude_title, config, "exclude_title"),
        flag_or_config(args.exclude_titles, config, "exclude_titles"),
        flag_or_config(args.exclude_apps, config, "exclude_apps"),
    )
    return settings, privacy


def make_loop(chosen: tuple[WindowSettings, PrivacyRules], args: argparse.Namespace,
              backend: WindowBackend, client: Client, stopper: Stopper) -> WindowWatcher:
    """The loop, with the local privacy rules joined by the server's `privacy` setting."""
    settings, privacy = chosen
    queue_stem = os.path.splitext(queue_path(CLIENT_NAME, args.testing))[0]
    shared = SharedPrivacy(privacy, lambda: client.get_setting(SETTING_KEY),
                           queue_stem + ".privacy.json")
    shared.start(stopper)
    return WindowWatcher(settings, backend, shared, client, stopper=stopper,
                         clock=SystemClock(), parent=ParentWatch())


COMMAND = WatcherCommand(
    client_name=CLIENT_NAME, what="Window",
    description="Records the focused window's app and title. "
                "X11; Wayland on wlroots compositors, GNOME and KDE Plasma; macOS; Windows.",
    default_config=DEFAULT_CONFIG, backend_choices=BACKEND_CHOICES,
    backend_help="window source", add_arguments=add_arguments, read_settings=read_settings,
    invalid=(InvalidPatternError,), open_backend=select_backend,
    unavailable=BackendUnavailableError, gone=BackendGoneError, make_loop=make_loop)


def main(argv: list[str] | None = None) -> int:
    return COMMAND.main(argv)


if __name__ == "__main__":
    sys.exit(main())
