"""`aw-qt`: the tray application (or, with `--no-gui`, the headless supervisor)."""

from __future__ import annotations

import argparse
import logging
import sys

from aw_qt.config import parse_module_list
from aw_qt.desktop.instance import AlreadyRunning, InstanceLock
from aw_qt.desktop.summon import SummonListener, socket_path, summon
from aw_qt.modules.run_module import requested, run_module
from aw_qt.startup import (
    MODULE,
    NO_DISPLAY,
    Options,
    StopRequest,
    build_controller,
    has_display,
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


def install_gnome_extension() -> int:
    """`aw-qt --install-gnome-extension`: what the tray's offer does, for a terminal."""
    from aw_qt.desktop.gnome_extension import install_and_enable

    result = install_and_enable()
    print(result.message)
    return 0 if result.ok else 1


ALREADY_RUNNING = {
    "headless": "ActivityWatch is already running (pid {pid}) without a window or tray "
                "icon (it was started with --no-gui or without a display). Stop it "
                "(kill {pid}) and start ActivityWatch again to get its tray icon.",
    None: "ActivityWatch is already running (pid {pid}). Look for its icon in the system "
          "tray or for its window.",
}


def already_running(options: Options, exc: AlreadyRunning) -> int:
    """A second start: ask the first to show itself; say something only if it cannot."""
    reply = summon(socket_path(lock_path(options)))
    if reply in ("window", "tray"):
        logger.info("aw-qt is already running (pid %s); it showed its %s", exc.pid, reply)
        return 1
    logger.error("%s", exc)
    if not options.no_gui and has_display():
        from aw_qt.qt.app import show_already_running

        show_already_running(ALREADY_RUNNING.get(reply, ALREADY_RUNNING[None])
                             .format(pid=exc.pid or "?"))
    return 1


def run(options: Options, stop: StopRequest, listener: SummonListener | None) -> int:
    display = has_display()
    why = "--no-gui" if options.no_gui else NO_DISPLAY
    if not options.no_gui and display:
        try:
            from aw_qt.qt.app import run_gui
        except ImportError as error:  # e.g. a server without the X/GL libraries Qt needs
            why = f"the tray cannot start: {error}"
        else:
            return run_gui(options, stop, listener)
    return run_headless(build_controller(options, display=display), stop, why=why,
                        display=display, listener=listener)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if requested(argv):
        return run_module(argv[1:])
    if "--install-gnome-extension" in argv:
        return install_gnome_extension()
    options = parse_args(argv)
    setup_logging(MODULE, testing=options.testing, verbose=options.verbose)
    lock = InstanceLock(lock_path(options))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        return already_running(options, exc)
    listener = SummonListener.open(socket_path(lock.path))
    stop = StopRequest().install()
    try:
        return run(options, stop, listener)
    finally:
        if listener is not None:
            listener.close()
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
