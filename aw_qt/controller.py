"""Everything the tray's actions mean, in plain Python.

The Qt layer (tray, no-tray window, dialogs) only shows this object's state and
forwards clicks to it; `--no-gui` uses it without any Qt at all. It owns the wiring:
the server handle, the Supervisor, the pause choices, autostart, the folders, device
sync (`sync`) and the import of ActivityWatch data (`imports`). What those have to tell
the user goes to `notify` (the tray shows it; by default it is logged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from enum import Enum
from pathlib import Path

from aw_qt.background_call import Notice, log_notice
from aw_qt.clock import Clock, SystemClock
from aw_qt.desktop.autostart import Autostart
from aw_qt.modules.supervisor import ModuleState, ModuleStatus, Supervisor
from aw_qt.pause import PauseChoice, pause_end
from aw_qt.server import ServerHandle
from aw_qt.sync.control import SyncControl
from aw_qt.today import Compute, TodayActivity
from aw_qt.transfer.export import ExportJob, ExportSource, HttpExportSource
from aw_qt.transfer.importing import ImportControl
from aw_server.activity_today import CombinedActivity, combined_activity

logger = logging.getLogger(__name__)


class TrayLook(Enum):
    """Which icon the tray shows: a failed module must be visible without opening
    the menu, since what it does not record is lost for good."""

    TRACKING = "tracking"
    PAUSED = "paused"
    FAILED = "failed"


@dataclass(frozen=True)
class Folders:
    log: Path
    config: Path


@dataclass
class Controller:
    supervisor: Supervisor
    server: ServerHandle
    autostart: Autostart
    folders: Folders
    testing: bool = False
    day_start: time = time(4, 0)
    clock: Clock = field(default_factory=SystemClock)
    notify: Callable[[Notice], None] = log_notice
    sync: SyncControl = field(init=False)
    imports: ImportControl = field(init=False)
    today: TodayActivity = field(init=False)

    def __post_init__(self) -> None:
        self.sync = SyncControl.for_server(self.server)
        self.imports = ImportControl.for_server(self.server, self.config_file,
                                                testing=self.testing)
        self.today = TodayActivity(self._today_compute(), self.clock, self.day_start)

    def _today_compute(self) -> Compute | None:
        """Today's activity from the embedded server's datastore; a server we found
        running is another program's, and is not asked."""
        api = self.server.api
        if api is None:
            return None
        store, hostname = api.store, api.info.hostname

        def compute(start_us: int, end_us: int) -> CombinedActivity:
            return combined_activity(store, hostname, start_us, end_us)

        return compute

    @property
    def config_file(self) -> Path:
        """aw-qt.toml, where choices such as "Don't ask again" are remembered."""
        return self.folders.config / "aw-qt" / "aw-qt.toml"

    # -- what the menu shows ------------------------------------------------------------
    def status_line(self) -> str:
        if not self.server.reachable():
            return "Server unreachable"
        failed = self.failed_modules()
        if failed:
            return f"{', '.join(failed)} stopped working"
        pause = self.supervisor.pause_state
        if pause is not None:
            return pause.describe()
        return "Tracking"

    def failed_modules(self) -> list[str]:
        return [s.name for s in self.supervisor.statuses() if s.state is ModuleState.FAILED]

    def look(self) -> TrayLook:
        if not self.server.reachable() or self.failed_modules():
            return TrayLook.FAILED
        return TrayLook.PAUSED if self.is_paused() else TrayLook.TRACKING

    def data_location(self) -> str:
        """Where the recorded data is kept, as the welcome message tells it."""
        server = self.server.server
        if server is not None:
            return str(server.config.database_path())
        return f"the server at {self.server.url}"

    def tooltip(self) -> str:
        return "ActivityWatch (testing)" if self.testing else "ActivityWatch"

    def tooltip_text(self, status: str) -> str:
        """The tray icon's tooltip: name and status, then today's active time across
        all devices once it is known."""
        text = f"{self.tooltip()}: {status}"
        today = self.today.line() if self.server.reachable() else None
        return f"{text}\n{today}" if today else text

    def is_paused(self) -> bool:
        return self.supervisor.pause_state is not None

    def modules(self) -> list[ModuleStatus]:
        return self.supervisor.statuses()

    @property
    def dashboard_url(self) -> str:
        return self.server.url + "/"

    @property
    def api_browser_url(self) -> str:
        return self.server.url + "/api/"

    # -- what the menu does ---------------------------------------------------------------
    def toggle_module(self, name: str) -> None:
        self.supervisor.toggle(name)

    def restart_module(self, name: str) -> None:
        self.supervisor.restart(name)

    def pause(self, choice: PauseChoice) -> None:
        self.supervisor.pause(pause_end(choice, self.clock.now(), self.day_start))

    def resume(self) -> None:
        self.supervisor.resume()

    def autostart_enabled(self) -> bool:
        try:
            return self.autostart.is_enabled()
        except OSError as exc:
            logger.warning("cannot read the start-at-login setting: %s", exc)
            return False

    def set_autostart(self, enabled: bool) -> str | None:
        """Returns an error message, or None when it worked."""
        try:
            self.autostart.set_enabled(enabled)
        except OSError as exc:
            logger.error("cannot change start at login: %s", exc)
            return f"Could not change start at login: {exc}"
        logger.info("start at login %s", "enabled" if enabled else "disabled")
        return None

    def folder(self, which: str) -> Path:
        path = self.folders.log if which == "log" else self.folders.config
        path.mkdir(parents=True, exist_ok=True)
        return path

    def export_job(self, path: Path, fmt: str) -> ExportJob:
        api = self.server.api
        source: ExportSource = api if api is not None else HttpExportSource(self.server.url)
        return ExportJob(source, path, fmt)

    def tick(self) -> None:
        self.supervisor.tick()
        if self.server.reachable():  # a stopped server's database is closed
            for notice in self.sync.check() + self.imports.check():
                self.notify(notice)
            self.today.tick()

    def shutdown(self) -> None:
        """Watchers first (they flush to the server), then the server, which drains."""
        logger.info("shutting down (pid %d)", os.getpid())
        self.today.close()
        self.supervisor.shutdown()
        self.server.stop()
