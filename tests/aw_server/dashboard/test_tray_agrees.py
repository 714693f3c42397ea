"""The tray's "Today: … active" and the dashboard's active time are one figure.

The tray computes it on intervals in the server's process (`aw_server/activity_today.py`),
the dashboard with a query2 program it builds in the browser (`js/queries.js`). Here a
real server holds a day with every case where the two could part: watcher gaps `flood`
fills, a tab playing sound while AFK in the focused browser and in an unfocused one, a
browser bucket of no known browser, an imported window bucket beside the watcher's own.
The dashboard's program is the one its "Open as query" button shows, run by the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.activity_today import combined_activity
from aw_server.browsers import browser_app_pattern
from aw_server.serve import Server
from tests.aw_server.dashboard.conftest import CHROMIUM, Tab, open_tab
from tests.aw_server.dashboard.test_all_devices import show, then_complete
from tests.conftest import make_server

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

HOST = "testhost"
DATE = "2024-03-05"
TEN = datetime(2024, 3, 5, 10, tzinfo=UTC)
# The dashboard's day: from its default start of day, 04:00, to the next one.
DAY = (datetime(2024, 3, 5, 4, tzinfo=UTC), datetime(2024, 3, 6, 4, tzinfo=UTC))


def at(minutes: float) -> datetime:
    return TEN + timedelta(minutes=minutes)


def event(start: float, end: float, data: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": at(start).isoformat(), "duration": (end - start) * 60, "data": data}


def tab_event(start: float, end: float, audible: bool) -> dict[str, Any]:
    return event(start, end, {"url": "https://video.example/watch", "title": "video",
                              "audible": audible, "incognito": False})


SECOND = 1 / 60
BUCKETS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    f"aw-watcher-window_{HOST}": ("currentwindow", [
        event(0, 10, {"app": "code", "title": "main.py"}),
        event(10 + SECOND, 30, {"app": "Firefox", "title": "video"}),  # a poll's gap
        event(30 + 2 * SECOND, 40, {"app": "Alacritty", "title": "bash"}),
        event(40, 50, {"app": "Chromium", "title": "call"}),
    ]),
    f"aw-watcher-afk_{HOST}": ("afkstatus", [
        event(0, 12, {"status": "not-afk"}),
        event(12 + 3 * SECOND, 60, {"status": "afk"}),
    ]),
    f"aw-watcher-web-firefox_{HOST}": ("web.tab.current", [
        tab_event(15, 25, True), tab_event(25, 30, False),
        tab_event(30, 35, True),  # a terminal is focused meanwhile: not counted
    ]),
    f"aw-watcher-web-chromium_{HOST}": ("web.tab.current", [tab_event(45, 50, True)]),
    f"aw-watcher-web-netsurf_{HOST}": ("web.tab.current", [tab_event(0, 60, True)]),
    "imported-window": ("currentwindow", [event(60, 120, {"app": "code", "title": "x"})]),
}
# Not AFK until 12 min + half the 3 s gap; Firefox's sound 15-25 and, since flood gives
# Firefox's window half the 2 s gap before the terminal, 30:00-30:01; Chromium's 45-50.
EXPECTED_S = 12 * 60 + 1.5 + 10 * 60 + 1 + 5 * 60


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    started = make_server(tmp_path)
    try:
        with requests.Session() as http:
            for bucket_id, (bucket_type, events) in BUCKETS.items():
                response = http.post(f"{started.url}/api/0/buckets/{bucket_id}", timeout=30,
                                     json={"client": "test", "type": bucket_type,
                                           "hostname": HOST})
                assert response.status_code == 200, response.text
                response = http.post(f"{started.url}/api/0/buckets/{bucket_id}/events",
                                     json=events, timeout=30)
                assert response.status_code == 200, response.text
        yield started
    finally:
        started.stop()


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Tab]:
    with open_tab(browser, server.url) as t:
        yield t


def dashboard_active_seconds(tab: Tab, server: Server) -> float:
    show(tab, f"#/activity?range=day&date={DATE}")
    then_complete(tab, lambda: tab.page.click("button.open-query"))
    program = tab.page.input_value("#query-text")
    response = requests.post(f"{server.url}/api/0/query/", timeout=120, json={
        "query": program.split("\n"),
        "timeperiods": [f"{DAY[0].isoformat()}/{DAY[1].isoformat()}"]})
    assert response.status_code == 200, response.text
    return float(response.json()[0]["combined"]["duration"])


def test_the_trays_figure_is_the_dashboards_active_time(tab: Tab, server: Server) -> None:
    span = [int(moment.timestamp() * 1_000_000) for moment in DAY]
    tray = combined_activity(server.store, HOST, *span)
    assert tray.combined_us == EXPECTED_S * 1_000_000
    assert dashboard_active_seconds(tab, server) == EXPECTED_S


def test_both_know_the_same_browsers(tab: Tab, server: Server) -> None:
    ids = ["aw-watcher-web-firefox_h", "aw-watcher-web-chromium_h", "aw-watcher-web-chrome_h",
           "aw-watcher-web-edge_h", "aw-watcher-web-brave_h", "aw-watcher-web-opera_h",
           "aw-watcher-web-vivaldi_h", "aw-watcher-web-safari_h", "aw-watcher-web-arc_h",
           "aw-watcher-web-Firefox-dev_h", "aw-watcher-web-netsurf_h", "aw-watcher-web_h"]
    tab.open("#/buckets")
    patterns = tab.page.evaluate("""async (ids) => {
      const { browserAppPattern } = await import("/js/queries.js");
      return ids.map(browserAppPattern);
    }""", ids)
    python = [None if (p := browser_app_pattern(i)) is None else p.pattern for i in ids]
    assert patterns == python
    assert python[-2:] == [None, None]
