"""`aw-watcher-afk` command line: its own flags and settings; `watchers.command` does the rest."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from watchers.afk.backends import (
    BACKEND_CHOICES,
    BackendUnavailableError,
    IdleBackend,
    select_backend,
)
from watchers.afk.watcher import CLIENT_NAME, DEFAULT_CONFIG, AfkSettings, AfkWatcher
from watchers.client import Client
from watchers.command import WatcherCommand, flag_or_config
from watchers.heartbeat import SystemClock
from watchers.process import ParentWatch, Stopper


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float,
                        help="seconds without input before AFK (config: timeout)")


def read_settings(args: argparse.Namespace, config: Mapping[str, Any]) -> AfkSettings:
    return AfkSettings(timeout=float(flag_or_config(args.timeout, config, "timeout")),
                       poll_time=float(flag_or_config(args.poll_time, config, "poll_time")))


def make_loop(settings: AfkSettings, _args: argparse.Namespace, backend: IdleBackend,
              client: Client, stopper: Stopper) -> AfkWatcher:
    return AfkWatcher(settings, backend, client, stopper=stopper, clock=SystemClock(),
                      parent=ParentWatch())


COMMAND = WatcherCommand(
    client_name=CLIENT_NAME, what="AFK",
    description="Records whether you are at the computer, from the system idle time.",
    default_config=DEFAULT_CONFIG, backend_choices=BACKEND_CHOICES, backend_help="idle source",
    add_arguments=add_arguments, read_settings=read_settings, invalid=(),
    open_backend=select_backend, unavailable=BackendUnavailableError,
    gone=BackendUnavailableError, make_loop=make_loop)


def main(argv: list[str] | None = None) -> int:
    return COMMAND.main(argv)


if __name__ == "__main__":
    sys.exit(main())
