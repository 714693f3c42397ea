"""Scheduled backups: due dates from an injected clock, atomic files, pruning, config."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aw_server.api import ServerAPI
from aw_server.config import load_config
from aw_server.datastore.store import Datastore
from aw_server.transfer.backup import BackupScheduler, backup_dates


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 9, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def api(tmp_path: Path) -> ServerAPI:
    store = Datastore(tmp_path / "db.sqlite")
    api = ServerAPI(store)
    api.create_bucket("b", {"type": "t", "client": "c", "hostname": "h"})
    api.create_events("b", [{"timestamp": "2024-01-01T00:00:00Z", "duration": 1,
                             "data": {"a": "ü"}}])
    api.set_setting("startOfDay", "04:00")
    yield api  # type: ignore[misc]
    store.close()


@pytest.mark.parametrize(("every", "days", "expected"), [("daily", 10, 10), ("weekly", 30, 5)])
def test_backups_follow_the_schedule_and_keep_the_newest(tmp_path: Path, api: ServerAPI,
                                                         every: str, days: int,
                                                         expected: int) -> None:
    clock = Clock()
    folder = tmp_path / "backups"
    scheduler = BackupScheduler(api, folder, every=every, keep=5, clock=clock)
    written = []
    for _ in range(days):
        written.append(scheduler.check())
        assert scheduler.check() is None  # nothing more that day
        clock.now += timedelta(days=1)
    assert sum(p is not None for p in written) == expected
    dates = backup_dates(folder)
    assert len(dates) == min(5, expected)
    newest = [p for p in written if p is not None][-1]
    assert newest.name == f"aw-backup-{dates[-1].isoformat()}.json"
    doc = json.loads(newest.read_text(encoding="utf-8"))
    assert doc["buckets"]["b"]["events"][0]["data"] == {"a": "ü"}
    assert doc["settings"] == {"startOfDay": "04:00"}
    assert [p.name for p in folder.iterdir() if not p.name.startswith("aw-backup-")] == []


def test_failed_backup_leaves_no_file(tmp_path: Path, api: ServerAPI,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "backups"
    scheduler = BackupScheduler(api, folder, clock=Clock())

    def broken(**_: object) -> object:
        yield '{"buckets": {'
        raise OSError("disk full")

    monkeypatch.setattr(api, "export_chunks", broken)
    assert scheduler.check() is None
    assert list(folder.iterdir()) == []


def test_thread_runs_and_stops(tmp_path: Path, api: ServerAPI) -> None:
    scheduler = BackupScheduler(api, tmp_path / "b", clock=Clock(), check_interval_s=0.05)
    scheduler.start()
    scheduler.stop()
    assert len(backup_dates(tmp_path / "b")) == 1


def test_config_section(tmp_path: Path) -> None:
    path = tmp_path / "aw-server.toml"
    path.write_text(f'[backup]\nfolder = "{tmp_path / "bk"}"\nevery = "weekly"\nkeep = 3\n')
    config = load_config(path)
    assert (config.backup_folder, config.backup_every, config.backup_keep) == (
        tmp_path / "bk", "weekly", 3)
    path.write_text('[backup]\nevery = "hourly"\n')
    with pytest.raises(ValueError, match="daily"):
        load_config(path)
    default = tmp_path / "new.toml"
    assert load_config(default).backup_folder is None
    assert "[backup]" in default.read_text()
