"""A file import running in the background, for the tray and the dashboard's import page.

The server process owns the one database writer, so an import asked for while it runs
happens in a thread of that process: `ImportTask(api, path).start()`, then poll
`status()` (a JSON-ready dict) to draw progress. Publishing goes in short transactions,
so heartbeats keep being answered meanwhile. A task that fails or is interrupted by a
shutdown is resumed by starting a new task for the same file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aw_server.datastore.imports.jobs import ImportReport
from aw_server.errors import AWError

if TYPE_CHECKING:
    from aw_server.api import ServerAPI

logger = logging.getLogger(__name__)


def report_json(report: ImportReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "kind": report.kind,
        "resumed": report.resumed,
        "inserted": report.inserted,
        "skipped": report.skipped,
        "buckets": {r.bucket_id: {"created": r.created, "inserted": r.inserted,
                                  "skipped": r.skipped} for r in report.buckets},
        "settings_added": report.settings_added,
        "settings_kept": report.settings_kept,
        "notes": report.notes,
    }


class ImportTask:
    def __init__(self, api: ServerAPI, path: Path | str, *,
                 on_finish: Callable[[dict[str, Any]], None] | None = None) -> None:
        """`on_finish(status)` runs in the task's thread once it ended either way, so the
        owner of a temporary source file (an upload) can delete it right then."""
        self.api = api
        self.path = Path(path)
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"path": str(self.path), "state": "pending",
                                       "phase": None, "done": 0, "total": None,
                                       "error": None, "report": None}
        self._thread: threading.Thread | None = None

    def _progress(self, phase: str, done: int, total: int | None) -> None:
        with self._lock:
            self._state.update(phase=phase, done=done, total=total)

    def _run(self) -> None:
        try:
            self._import()
        finally:
            if self._on_finish is not None:
                try:
                    self._on_finish(self.status())
                except Exception:
                    logger.exception("cleanup after the import of %s failed", self.path)

    def _import(self) -> None:
        started = time.monotonic()
        try:
            report = self.api.import_file(self.path, progress=self._progress)
        except AWError as exc:
            logger.warning("import of %s failed: %s", self.path, exc.message)
            with self._lock:
                self._state.update(state="failed", error=exc.message)
            return
        except Exception as exc:
            logger.exception("import of %s failed", self.path)
            with self._lock:
                self._state.update(state="failed", error=f"unexpected error: {exc}")
            return
        logger.info("imported %s in %.1f s: %d events added, %d already present", self.path,
                    time.monotonic() - started, report.inserted, report.skipped)
        with self._lock:
            self._state.update(state="done", report=report_json(report))

    def start(self) -> ImportTask:
        with self._lock:
            self._state["state"] = "running"
        self._thread = threading.Thread(target=self._run, name="aw-import", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)
