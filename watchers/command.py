"""The command line both watchers share: flags, config file, logging, then the loop.

A watcher command names what is its own (extra flags, how its settings are read, its
backend and its loop); `WatcherCommand.main` does the rest in one order. Signal
handlers come first (a stop during start-up is honoured), then the backend (a session
that cannot be tracked exits with EXIT_UNSUPPORTED, which aw-qt shows once instead of
restarting), then the client, whose queue lock keeps a second copy from running.
Whatever happens in the loop, the queue is flushed and closed and the backend released.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from watchers.client import Client, open_client
from watchers.config import load_toml_config, section
from watchers.process import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_UNSUPPORTED,
    Stopper,
    dump_loaded_modules,
    setup_logging,
)
from watchers.queue import QueueLockedError

logger = logging.getLogger(__name__)


class Backend(Protocol):
    def close(self) -> None: ...


class Loop(Protocol):
    def run(self) -> None: ...


S = TypeVar("S")
B = TypeVar("B", bound=Backend)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own help layout, given the terminal's width up front.

    Left to itself, argparse builds a formatter for every `add_argument` and each one
    imports `shutil` to measure the terminal: shutil brings `bz2` and `lzma` with their
    libraries, 0.5 MB a watcher would keep all day for a `--help` it seldom prints.
    """

    def __init__(self, prog: str, **options: Any) -> None:
        if options.get("width") is None:
            options["width"] = terminal_columns() - 2  # the margin argparse leaves
        super().__init__(prog, **options)


def terminal_columns(fallback: int = 80) -> int:
    """`shutil.get_terminal_size().columns`: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    if sys.__stdout__ is None:  # no stdout at all (pythonw)
        return fallback
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or fallback
    except (ValueError, OSError):  # not a terminal, or closed
        return fallback


def flag_or_config(flag: Any, config: Mapping[str, Any], key: str) -> Any:
    """A flag given on the command line wins over the config file's value."""
    return flag if flag is not None else config[key]


@dataclass(frozen=True)
class WatcherCommand(Generic[S, B]):
    """One watcher's command: `client_name` names its log folder, config file, queue and
    bucket; `what` names what it tracks in the log ("AFK tracking is unavailable")."""

    client_name: str
    what: str
    description: str
    default_config: str
    backend_choices: tuple[str, ...]
    backend_help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    # Reads the settings from the flags and the config section; raises one of `invalid`
    # for a bad value (the command then exits with EXIT_CONFIG).
    read_settings: Callable[[argparse.Namespace, Mapping[str, Any]], S]
    invalid: tuple[type[Exception], ...]
    open_backend: Callable[[str | None], B]
    unavailable: type[Exception]  # the session cannot be tracked: EXIT_UNSUPPORTED
    gone: type[Exception]  # the session ended under the loop
    make_loop: Callable[[S, argparse.Namespace, B, Client, Stopper], Loop]

    def parse_args(self, argv: list[str] | None = None) -> argparse.Namespace:
        return self.parser().parse_args(argv)

    def parser(self) -> argparse.ArgumentParser:
        """The flags every ActivityWatch watcher takes, then this watcher's own."""
        parser = argparse.ArgumentParser(prog=self.client_name, description=self.description,
                                         formatter_class=HelpFormatter)
        parser.add_argument("--host", help="server host (default from aw-client.toml)")
        parser.add_argument("--port", type=int, help="server port (default 5600, testing 5666)")
        parser.add_argument("--testing", action="store_true",
                            help="testing mode: port 5666, *-testing config sections and queue")
        parser.add_argument("--verbose", action="store_true", help="debug logging")
        self.add_arguments(parser)
        parser.add_argument("--poll-time", type=float,
                            help="seconds between polls (config: poll_time)")
        parser.add_argument("--backend", choices=self.backend_choices,
                            help=f"{self.backend_help} (default: detected from the session; "
                                 "\"wayland\" detects the desktop, wlroots/gnome/kde force one)")
        return parser

    def main(self, argv: list[str] | None = None) -> int:
        args = self.parse_args(argv)
        setup_logging(self.client_name, args.testing, args.verbose)
        config = section(load_toml_config(self.client_name, self.default_config),
                         self.client_name, args.testing)
        invalid: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError, *self.invalid)
        try:
            settings = self.read_settings(args, config)
        except invalid as exc:
            logger.error("Invalid settings: %s", exc)
            return EXIT_CONFIG
        return self.run(settings, args)

    def run(self, settings: S, args: argparse.Namespace) -> int:
        """Run the watcher to its end, in the order the module docstring explains."""
        stopper = Stopper()
        stopper.install_signal_handlers()
        try:
            backend = self.open_backend(args.backend)
        except self.unavailable as exc:
            logger.error("%s tracking is unavailable: %s", self.what, exc)
            return EXIT_UNSUPPORTED
        try:
            client = open_client(self.client_name, args.testing, args.host, args.port)
        except QueueLockedError as exc:
            logger.error("%s is already running (%s)", self.client_name, exc)
            backend.close()
            return EXIT_ERROR
        code = EXIT_OK
        try:
            self.make_loop(settings, args, backend, client, stopper).run()
        except self.gone as exc:
            logger.error("Stopping: %s", exc)
            code = EXIT_ERROR
        finally:
            left = client.close()
            backend.close()
            logger.info("%s stopped (%s); %d heartbeats left queued", self.client_name,
                        stopper.reason or "parent gone or display closed", left)
            dump_loaded_modules(self.client_name)
        return code
