"""A new version's first start on a long history, through the real aw-qt under Xvfb +
openbox + trayer: the upgrade of the database shows its progress in a window at once
(instead of nothing for as long as it takes), the server and the watchers start when
it is done, and quitting half-way loses nothing (the next start goes on).

Screenshots go to each test's `artifacts/` folder (the path is printed).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
import requests

from aw_qt.qt.upgrade_window import UPGRADE_TITLE
from aw_server.config import load_config
from tests.aw_qt.running import Running, user_environment, watched
from tests.aw_qt.test_tray_x11 import start_awqt, stop_cleanly
from tests.aw_qt.xsession import XSession, missing_tools
from tests.aw_server.datastore.test_upgrade import user_version, v5_file

pytestmark = [
    pytest.mark.x11,
    pytest.mark.skipif(sys.platform != "linux" or bool(missing_tools()),
                       reason=f"needs Linux and {', '.join(missing_tools())}"),
]
BUCKET = "aw-watcher-window_host"
# Enough events that the upgrade lasts seconds (about 6 s per million), so its window
# is there to be seen; nothing here depends on how long it takes.
EVENTS = 1_000_000


def older_history(x: XSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                  ) -> tuple[dict[str, str], Path, int]:
    """The user's environment, and a version-5 database where aw-qt's server keeps it."""
    env = user_environment(x.env, tmp_path / "home")
    for name in ("AW_BASE_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                 "XDG_STATE_HOME"):
        monkeypatch.setenv(name, env[name])
    path = load_config(testing=True).database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return env, path, v5_file(path, EVENTS)


def stored_count(run: Running) -> int:
    answer = requests.get(f"{run.url}/api/0/buckets/{BUCKET}/events/count", timeout=30)
    answer.raise_for_status()
    return int(answer.json())


@pytest.mark.timeout(600)
def test_the_upgrade_shows_its_progress_then_the_tray_starts(
        desktop_session: XSession, tmp_path: Path, artifacts: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    x = desktop_session
    env, path, kept = older_history(x, tmp_path, monkeypatch)
    run = start_awqt(x, tmp_path, env=env)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        window = x.wait(lambda: x.window_named(UPGRADE_TITLE), "the upgrade window",
                        timeout=60)
        x.screenshot(artifacts / "upgrade-window.png", window)
        x.wait(lambda: run.info() is not None, "the server, after the upgrade", timeout=300)
        x.wait(lambda: x.window_named(UPGRADE_TITLE) is None, "the upgrade window to go")
        x.wait(x.tray_icon, "the tray icon")
        assert user_version(path) == 6
        assert stored_count(run) == kept
        log = run.log()
        assert log.index("to this version's schema before the server starts") < \
            log.index("aw-qt ready")
        stop_cleanly(run)


@pytest.mark.timeout(600)
def test_quitting_during_the_upgrade_loses_nothing_and_the_next_start_finishes_it(
        desktop_session: XSession, tmp_path: Path, artifacts: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    x = desktop_session
    env, path, kept = older_history(x, tmp_path, monkeypatch)
    run = start_awqt(x, tmp_path, env=env)
    with watched(run, lambda: x.screenshot(artifacts / "failure.png")):
        x.wait(lambda: x.window_named(UPGRADE_TITLE), "the upgrade window", timeout=60)
        stop_cleanly(run)  # SIGTERM, as logging out would
    assert "upgrade stopped by quitting" in run.log()
    assert user_version(path) == 5
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == kept
    finally:
        conn.close()

    again = start_awqt(x, tmp_path / "again", env=env)
    with watched(again, lambda: x.screenshot(artifacts / "failure-again.png")):
        x.wait(lambda: again.info() is not None, "the server, after the upgrade",
               timeout=300)
        assert user_version(path) == 6
        assert stored_count(again) == kept
        stop_cleanly(again)
