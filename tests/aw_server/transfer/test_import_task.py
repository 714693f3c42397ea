"""An import in a background thread of the server (the tray's and the dashboard's): its
status reports progress, then the result or the error naming the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aw_server.api import ServerAPI
from aw_server.datastore.store import Datastore
from aw_server.transfer.import_task import ImportTask
from tests.aw_server.transfer.activitywatch_files import rust_db


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ServerAPI]:
    store = Datastore(tmp_path / "ours.sqlite")
    yield ServerAPI(store, hostname="testhost")
    store.close()


def test_background_task_reports_progress_and_result(tmp_path: Path, api: ServerAPI) -> None:
    path = tmp_path / "src" / "sqlite.db"
    path.parent.mkdir()
    rust_db(path, 5)
    status = ImportTask(api, path).start().wait(60)
    assert status["state"] == "done" and status["phase"] == "writing"
    assert status["done"] == status["total"] == 100
    assert status["report"]["inserted"] == 100
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    failed = ImportTask(api, bad).start().wait(60)
    assert failed["state"] == "failed" and str(bad) in failed["error"]
