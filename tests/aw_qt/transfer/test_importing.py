"""Offering and running the import of an existing ActivityWatch database from the tray.

A real aw-server-rust-format database sits where ActivityWatch keeps it (under the
test's AW_BASE_DIR), a real embedded server finds it, and the tray offers it: without
a screen through the Controller, then through the real dialog and menu (offscreen).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from aw_qt.background_call import Notice
from aw_qt.config import load_config
from aw_qt.config_edit import recall
from aw_qt.controller import Controller
from aw_qt.qt.tray import TrayApp
from aw_qt.server import ServerHandle, ServerMode
from aw_qt.transfer.importing import MENU_TEXT, OFFER_KEY, OfferAnswer, percent
from aw_server.serve import Server
from tests.aw_qt.helpers import embedded_server, quiet_controller, wait_for
from tests.aw_server.transfer.activitywatch_files import BUCKET, EVENTS, rust_db

RESULT = ("Imported 100 events in 2 buckets (2 new) from sqlite-testing.db; "
          "4 settings added.")


@dataclass
class Setup:
    tmp_path: Path
    source: Path
    server: Server
    notices: list[Notice] = field(default_factory=list)

    def controller(self) -> Controller:
        """A fresh aw-qt start over the same server and config folder."""
        ctl = quiet_controller(self.tmp_path, ServerHandle(ServerMode.EMBEDDED,
                                                           self.server.port, self.server))
        ctl.notify = self.notices.append
        return ctl

    def counts(self) -> dict[str, int]:
        return {b: self.server.api.count_events(b, None, None)
                for b in self.server.store.buckets.ids()}


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """aw-server-rust's testing database in its standard place, and our empty server."""
    source = Path(os.environ["AW_BASE_DIR"]) / "data" / "aw-server-rust" / "sqlite-testing.db"
    source.parent.mkdir(parents=True)
    rust_db(source, 5)
    server = embedded_server(tmp_path / "ours", "testhost")
    yield Setup(tmp_path, source, server)
    server.stop()


def test_found_database_is_offered_once_and_imported_only_after_yes(setup: Setup) -> None:
    ctl = setup.controller()
    assert setup.server.found_databases == [setup.source]
    path = ctl.imports.offer()
    assert path == setup.source and ctl.imports.offer() is None  # once per start
    assert str(setup.source) in ctl.imports.offer_text(path)
    ctl.tick()
    assert setup.counts() == {} and setup.notices == []  # never without a yes
    assert ctl.imports.answer(OfferAnswer.IMPORT, path) is None
    wait_for(lambda: setup.notices, step=ctl.tick, timeout=60)
    assert setup.notices == [Notice("Import finished", RESULT)]
    assert setup.counts() == {"aw-watcher-window_r0": 50, "aw-watcher-window_r1": 50}
    assert ctl.imports.menu_text() == MENU_TEXT and ctl.imports.can_start()
    ctl.tick()
    assert len(setup.notices) == 1


def test_dont_ask_again_is_remembered_in_the_config_file(setup: Setup) -> None:
    ctl = setup.controller()
    load_config(ctl.config_file, testing=True)  # the commented-out file of a first run
    before = ctl.config_file.read_text().splitlines()
    path = ctl.imports.offer()
    assert path is not None and ctl.imports.answer(OfferAnswer.NEVER, path) is None
    after = ctl.config_file.read_text().splitlines()
    assert [line for line in after if line not in before] == [f"{OFFER_KEY} = false"]
    assert set(before) <= set(after)  # the user's comments stay
    assert recall(ctl.config_file, "aw-qt-testing", OFFER_KEY) is False
    assert recall(ctl.config_file, "aw-qt", OFFER_KEY) is None  # the normal profile asks
    assert load_config(ctl.config_file, testing=True).day_start == "04:00"
    assert setup.controller().imports.offer() is None  # the next start does not ask
    assert setup.counts() == {}


def test_not_now_asks_again_at_the_next_start(setup: Setup) -> None:
    ctl = setup.controller()
    path = ctl.imports.offer()
    assert path is not None and ctl.imports.answer(OfferAnswer.LATER, path) is None
    assert not ctl.config_file.exists()
    assert setup.controller().imports.offer() == setup.source
    assert setup.counts() == {}


def test_progress_is_reading_then_writing() -> None:
    assert percent({"phase": "reading", "done": 0, "total": None}) is None
    assert percent({"phase": "reading", "done": 21, "total": 50}) == 21
    assert percent({"phase": "writing", "done": 25, "total": 50}) == 75
    assert percent({"phase": "writing", "done": 50, "total": 50}) == 100


# -- the real dialog and menu ---------------------------------------------------------
def start_tray(setup: Setup, ask: list[Path], answer: Path | None) -> TrayApp:
    ctl = setup.controller()

    def ask_import_path(default: Path) -> Path | None:
        ask.append(default)
        return answer

    tray = TrayApp(ctl, tray_wait_s=600, ask_import_path=ask_import_path,
                   quit_app=lambda: None)
    ctl.notify = tray.show_notice
    tray.notify = lambda title, text: setup.notices.append(Notice(title, text))  # type: ignore[method-assign]
    tray.start()
    return tray


def offer_box(tray: TrayApp) -> QMessageBox:
    boxes = [d for d in tray.dialogs if isinstance(d, QMessageBox)
             and d.objectName() == "import-offer"]
    assert len(boxes) == 1
    return boxes[0]


def click(box: QMessageBox, text: str) -> None:
    next(b for b in box.buttons() if b.text() == text).click()


def test_offer_dialog_imports_when_import_is_clicked(qtbot: QtBot, setup: Setup) -> None:
    tray = start_tray(setup, [], None)
    try:
        box = offer_box(tray)
        assert str(setup.source) in box.text() and box.isVisible()
        assert [b.text() for b in box.buttons()] == ["Import", "Not now", "Don't ask again"]
        click(box, "Import")
        qtbot.waitUntil(lambda: bool(setup.notices), timeout=60000)
        assert setup.notices == [Notice("Import finished", RESULT)]
        assert sum(setup.counts().values()) == 100
    finally:
        tray.quit()


def test_offer_dialog_dont_ask_again_persists(qtbot: QtBot, setup: Setup) -> None:
    tray = start_tray(setup, [], None)
    try:
        click(offer_box(tray), "Don't ask again")
        assert recall(tray.ctl.config_file, "aw-qt-testing", OFFER_KEY) is False
    finally:
        tray.quit()  # this stops the server too: start it again, as aw-qt would
    setup.server = embedded_server(setup.tmp_path / "ours", "testhost")
    assert setup.server.found_databases == [setup.source]
    again = start_tray(setup, [], None)
    try:
        assert not [d for d in again.dialogs if d.objectName() == "import-offer"]
        assert setup.counts() == {}
    finally:
        again.quit()


def test_menu_imports_a_json_export_and_shows_progress_in_its_text(
        qtbot: QtBot, setup: Setup) -> None:
    export = setup.tmp_path / "aw-export.json"
    export.write_text(json.dumps({"buckets": {"b1": {**BUCKET, "events": EVENTS}}}))
    asked: list[Path] = []
    tray = start_tray(setup, asked, export)
    try:
        click(offer_box(tray), "Not now")
        item = tray.app_menu.actions["import"]
        with setup.server.store.db.write():  # the database is busy: the import waits
            item.trigger()
            tray.app_menu.refresh()
            assert item.text().startswith("Importing…") and not item.isEnabled()
        assert asked == [setup.source]  # the chooser starts at the found database
        qtbot.waitUntil(lambda: bool(setup.notices), timeout=60000)
        assert setup.notices == [Notice("Import finished", "Imported 3 events in 1 bucket "
                                                           "(1 new) from aw-export.json.")]
        tray.app_menu.refresh()
        assert item.text() == MENU_TEXT and item.isEnabled()
        assert setup.counts() == {"b1": 3}
    finally:
        tray.quit()


def test_a_damaged_file_is_reported_in_a_dialog(qtbot: QtBot, setup: Setup) -> None:
    bad = setup.tmp_path / "bad.json"
    bad.write_text("{")
    tray = start_tray(setup, [], bad)
    try:
        tray.app_menu.actions["import"].trigger()
        qtbot.waitUntil(lambda: any(isinstance(d, QMessageBox) and "bad.json" in d.text()
                                    and d.objectName() == "notice" for d in tray.dialogs),
                        timeout=60000)
        box = next(d for d in tray.dialogs if d.objectName() == "notice")
        assert isinstance(box, QMessageBox)
        assert box.text().startswith("Importing bad.json failed: ")
        assert setup.counts() == {}
    finally:
        tray.quit()
