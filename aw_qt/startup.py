"""Putting aw-qt together without Qt: options, the Controller, and `--no-gui`."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from types import FrameType

from aw_qt import config
from aw_qt.controller import Controller, Folders
from aw_qt.desktop import autostart
from aw_qt.desktop.summon import SummonListener
from aw_qt.modules import finder
from aw_qt.modules.supervisor import Supervisor
from aw_qt.pause import PauseStore
from aw_qt.server import ServerHandle, start_server
from aw_server import dirs
from aw_server.config import DEFAULT_PORT, TESTING_PORT

logger = logging.getLogger(__name__)

MODULE = "aw-qt"
# Watchers that read the desktop session: without a display they can only fail.
DISPLAY_MODULES = frozenset({"aw-watcher-afk", "aw-watcher-window"})


def has_display() -> bool:
    """Qt aborts (SIGABRT) without a display unless a platform was chosen explicitly."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@dataclass(frozen=True)
class Options:
    testing: bool = False
    verbose: bool = False
    no_gui: bool = False
    port: int | None = None  # None: from aw-server.toml, else 5600 / 5666
    autostart_modules: tuple[str, ...] | None = None  # None: from aw-qt.toml
    stop_timeout: float = 10.0

    @property
    def profile(self) -> str:
        return f"{MODULE}-testing" if self.testing else MODULE


def lock_path(options: Options) -> Path:
    return dirs.data_dir(MODULE) / f"{options.profile}.lock"


def welcome_marker(options: Options) -> Path:
    return dirs.data_dir(MODULE) / f"{options.profile}.welcomed"


def module_args(options: Options, server: ServerHandle) -> list[str]:
    """Flags every module gets: `--testing`, and the port when it is not the default.

    ActivityWatch passes only `--testing`; third-party watchers may not know `--port`,
    so it is passed only when the server really is elsewhere.
    """
    args = ["--testing"] if options.testing else []
    default = TESTING_PORT if options.testing else DEFAULT_PORT
    if server.port != default:
        args += ["--host", "127.0.0.1", "--port", str(server.port)]
    return args


def _day_start(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        logger.warning("day_start %r is not HH:MM; using 04:00", text)
        return time(4, 0)


def build_controller(options: Options, *, display: bool = True) -> Controller:
    """Everything started; without a `display`, the watchers that need one are not."""
    settings = config.load_config(testing=options.testing)
    wanted = (settings.autostart_modules if options.autostart_modules is None
              else options.autostart_modules)
    if not display:
        wanted = tuple(m for m in wanted if m not in DISPLAY_MODULES)
    server = start_server(testing=options.testing, port=options.port)
    specs = finder.discover()
    logger.info("modules found: %s", ", ".join(f"{s.name} ({s.source})" for s in specs.values()))
    pause_file = dirs.data_dir(MODULE) / (
        "pause-testing.json" if options.testing else "pause.json")
    supervisor = Supervisor(specs, log_dir=dirs.log_dir(MODULE) / "modules",
                            pause_store=PauseStore(pause_file),
                            extra_args=module_args(options, server),
                            stop_timeout=options.stop_timeout)
    controller = Controller(supervisor, server, autostart.for_platform(),
                            Folders(log=dirs.log_dir(MODULE).parent,
                                    config=dirs.config_dir(MODULE).parent),
                            testing=options.testing, day_start=_day_start(settings.day_start))
    supervisor.start([m for m in wanted if m not in finder.SERVER_MODULES])
    return controller


class StopRequest:
    """SIGTERM/SIGINT recorded from the very start, before anything can be stopped.

    Installed before the server and modules start, so a signal that arrives during
    start-up is not lost (nor kills us half-started): the run loop sees it at once.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.callback: Callable[[], None] = lambda: None

    def install(self) -> StopRequest:
        signal.signal(signal.SIGTERM, self._handler)
        signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        logger.info("%s received; quitting", signal.Signals(signum).name)
        self.event.set()
        self.callback()


NO_DISPLAY = "no display: DISPLAY and WAYLAND_DISPLAY are unset"


def headless_line(ctl: Controller, *, why: str, display: bool) -> str:
    """The one line that tells someone without a screen what runs and what does not."""
    running = [s.name for s in ctl.modules() if s.pid is not None]
    left_out = [] if display else sorted(DISPLAY_MODULES & set(ctl.supervisor.names()))
    text = (f"aw-qt runs headless ({why}): server {ctl.server.url}, data in "
            f"{ctl.data_location()}; modules running: {', '.join(running) or 'none'}")
    if left_out:
        text += f"; not started, they need a desktop session: {', '.join(left_out)}"
    return text + "; stop with Ctrl-C"


def run_headless(ctl: Controller, stop: StopRequest, *, tick_s: float = 1.0,
                 why: str = "--no-gui", display: bool = True,
                 listener: SummonListener | None = None) -> int:
    """Supervise until SIGTERM or SIGINT, then stop everything in order. `why` it runs
    without the tray goes into the log; `display` False: there is no desktop session."""
    ctl.supervisor.on_gave_up = lambda name, tail: logger.error(
        "%s keeps crashing; it stays stopped. Its last output:\n%s", name, tail)
    if ctl.server.problem:
        logger.error("%s", ctl.server.problem)
    logger.log(logging.INFO if why == "--no-gui" else logging.WARNING, "%s",
               headless_line(ctl, why=why, display=display))
    while not stop.event.wait(tick_s):
        ctl.tick()
        if listener is not None:
            listener.handle_pending()  # a second launch learns we have no window
    ctl.shutdown()
    return 0
