"""`aw-qt`: the tray application (or, with `--no-gui`, the headless supervisor)."""

from __future__ import annotations

import argparse
import logging
import sys

from aw_qt.config import parse_module_list
from aw_qt.instance import AlreadyRunning, InstanceLock
from aw_qt.runtime import (
    MODULE,
    Options,
    StopRequest,
    build_controller,
    lock_path,
    run_headless,
)
from aw_server.logsetup import setup_logging

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="aw-qt", description="ActivityWatch tray: runs the server and the watchers.")
    parser.add_argument("--testing", action="store_true",
                        help="testing mode: port 5666, *-testing config sections and files")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    parser.add_argument("--install-gnome-extension", action="store_true",
                        help="install and enable the GNOME Shell extension that window "
                             "tracking needs on GNOME (Wayland), then exit")
    parser.add_argument("--no-gui", action="store_true",
                        help="no tray: supervise the server and modules headless")
    parser.add_argument("--port", type=int,
                        help="server port (default from aw-server.toml, else 5600/5666)")
    parser.add_argument("--autostart-modules", metavar="A,B,C",
                        help='modules to start, comma-separated ("none" for none)')
    args = parser.parse_args(argv)
    modules = (parse_module_list(args.autostart_modules)
               if args.autostart_modules is not None else None)
    return Options(testing=args.testing, verbose=args.verbose, no_gui=args.no_gui,
                   port=args.port, autostart_modules=modules)


def run_module(argv: list[str]) -> int:
    """`aw-qt --run-module NAME ARGS`: a bundle runs its built-in watchers this way."""
    name, rest = argv[0], argv[1:]
    if name == "aw-watcher-afk":
        from watchers.afk.__main__ import main as afk_main
        return afk_main(rest)
    if name == "aw-watcher-window":
        from watchers.window.__main__ import main as window_main
        return window_main(rest)
    print(f"aw-qt: no built-in module {name!r}", file=sys.stderr)
    return 2


def install_gnome_extension() -> int:
    """`aw-qt --install-gnome-extension`: what the tray's offer does, for a terminal."""
    from aw_qt.gnome_extension import install_and_enable

    result = install_and_enable()
    print(result.message)
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run-module"] and len(argv) > 1:
        return run_module(argv[1:])
    if "--install-gnome-extension" in argv:
        return install_gnome_extension()
    options = parse_args(argv)
    setup_logging(MODULE, testing=options.testing, verbose=options.verbose)
    lock = InstanceLock(lock_path(options))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        logger.error("%s", exc)
        if not options.no_gui:
            from aw_qt.app import has_display, show_already_running

            if has_display():
                show_already_running(f"ActivityWatch is already running (pid {exc.pid}). "
                                     "Look for its icon in the system tray.")
        return 1
    stop = StopRequest().install()
    try:
        if options.no_gui:
            return run_headless(build_controller(options), stop)
        from aw_qt.app import has_display, run_gui

        if not has_display():
            logger.error("no display (DISPLAY/WAYLAND_DISPLAY unset): running headless; "
                         "use --no-gui to silence this")
            return run_headless(build_controller(options), stop)
        return run_gui(options, stop)
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
