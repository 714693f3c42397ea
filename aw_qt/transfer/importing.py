"""Importing an existing ActivityWatch database from the tray, in plain Python.

On a first start the embedded server lists the ActivityWatch databases it found
(`Server.found_databases`). The tray offers them once, and imports nothing without a
yes: "Not now" asks again at the next start, "Don't ask again" is remembered in
`aw-qt.toml` (`offer_import = false`). The import itself is the server's
`ImportTask`, in a thread of this process (the server owns the one database writer);
this class turns its status into the menu item's text and a notice at the end.
"""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aw_qt.background_call import Notice
from aw_qt.config_edit import recall, remember
from aw_qt.server import ServerHandle, ServerMode
from aw_server.api import ServerAPI

if TYPE_CHECKING:
    from aw_server.transfer.import_task import ImportTask

logger = logging.getLogger(__name__)

OFFER_KEY = "offer_import"
MENU_TEXT = "Import from ActivityWatch…"


class OfferAnswer(Enum):
    IMPORT = "Import"
    LATER = "Not now"
    NEVER = "Don't ask again"


def percent(status: dict[str, Any]) -> int | None:
    """Reading the source is the first half, writing into the database the second."""
    total, done = status.get("total"), status.get("done") or 0
    if not total:
        return None
    first = 0 if status.get("phase") == "reading" else 50
    return first + int(50 * min(1.0, done / total))


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def result_text(name: str, report: dict[str, Any]) -> str:
    buckets = report.get("buckets", {})
    created = sum(1 for b in buckets.values() if b.get("created"))
    text = (f"Imported {counted(report.get('inserted', 0), 'event')} in "
            f"{counted(len(buckets), 'bucket')} ({created} new) from {name}")
    if report.get("skipped"):
        text += f"; {report['skipped']} already here"
    if report.get("settings_added"):
        text += f"; {counted(len(report['settings_added']), 'setting')} added"
    return text + "."


class ImportControl:
    def __init__(self, api: ServerAPI | None, found: list[Path], config_file: Path, *,
                 testing: bool = False, unavailable: str = "") -> None:
        self.api = api
        self.found = found
        self.config_file = config_file
        self.section = "aw-qt-testing" if testing else "aw-qt"
        self.unavailable = "" if api is not None else (unavailable or "Import is unavailable")
        self.task: ImportTask | None = None
        self._offered = False
        self._reported = True

    @classmethod
    def for_server(cls, handle: ServerHandle, config_file: Path, *,
                   testing: bool = False) -> ImportControl:
        server = handle.server
        if server is None:
            why = ("Import with `aw-server import FILE` while that server is stopped: aw-qt "
                   "did not start the server now running" if handle.mode is ServerMode.EXTERNAL
                   else "Import is unavailable: the server is not running")
            return cls(None, [], config_file, testing=testing, unavailable=why)
        return cls(server.api, list(server.found_databases), config_file, testing=testing)

    # -- the one-time offer --------------------------------------------------------------
    def offer(self) -> Path | None:
        """The database to offer, once per run, unless the user said "Don't ask again"."""
        if self._offered or not self.found or self.api is None:
            return None
        self._offered = True
        if recall(self.config_file, self.section, OFFER_KEY) is False:
            logger.info("not offering to import %s (%s = false in %s)", self.found[0],
                        OFFER_KEY, self.config_file)
            return None
        return self.found[0]

    def offer_text(self, path: Path) -> str:
        more = len(self.found) - 1
        others = (f"\n\n{more} more ActivityWatch database{'s' if more > 1 else ''} "
                  f"{'were' if more > 1 else 'was'} found; import "
                  f"{'them' if more > 1 else 'it'} with {MENU_TEXT} in the menu.") if more else ""
        return (f"An ActivityWatch database was found at\n{path}\n\nImport it? Its buckets, "
                "events and settings are copied into this server; the file itself is only "
                f"read, never changed. Tracking goes on while it imports.{others}")

    def answer(self, choice: OfferAnswer, path: Path) -> Notice | None:
        """Act on the user's answer; a Notice if that went wrong (or says what started)."""
        if choice is OfferAnswer.IMPORT:
            return self.start(path)
        if choice is OfferAnswer.NEVER:
            try:
                remember(self.config_file, self.section, OFFER_KEY, False)
            except (OSError, ValueError) as exc:
                logger.error("cannot remember the import choice: %s", exc)
                return Notice("ActivityWatch", f"Could not save your choice: {exc}", error=True)
            logger.info("will not offer the import again (%s)", self.config_file)
        return None

    # -- the import ----------------------------------------------------------------------
    def default_path(self) -> Path:
        return self.found[0] if self.found else Path.home()

    def running(self) -> bool:
        return self.task is not None and self.task.status()["state"] == "running"

    def can_start(self) -> bool:
        return self.api is not None and not self.running()

    def menu_text(self) -> str:
        if self.task is None or not self.running():
            return MENU_TEXT
        shown = percent(self.task.status())
        return "Importing…" if shown is None else f"Importing… {shown}%"

    def start(self, path: Path) -> Notice | None:
        if self.api is None:
            return Notice("Import", self.unavailable, error=True)
        if self.running():
            return Notice("Import", "An import is already running.", error=True)
        if not path.is_file():
            return Notice("Import", f"{path} is not a file.", error=True)
        # Loaded on use: the tray keeps no import code while idle.
        from aw_server.transfer.import_task import ImportTask

        logger.info("importing %s", path)
        self.task = ImportTask(self.api, path).start()
        self._reported = False
        return None

    def check(self) -> list[Notice]:
        """Called every tick: one notice when the import has ended."""
        if self.task is None or self._reported:
            return []
        status = self.task.status()
        if status["state"] == "running":
            return []
        self._reported = True
        name = self.task.path.name
        if status["state"] == "failed":
            return [Notice("Import failed", f"Importing {name} failed: {status['error']}",
                           error=True)]
        return [Notice("Import finished", result_text(name, status["report"] or {}))]
