"""The Activity view's Year range in headless Chromium against a real server.

A second desktop ("yearhost") gets scattered days of 2023 for this module: daytime blocks
and late nights that run past the 04:00 start of day (so part of them counts towards the
next day, and the night of Dec 31 partly towards 2024). The expected active seconds per
logical day are computed here from the raw window and not-AFK events, independently of
the query engine, and compared with the heat map, the month and the weekday totals.
"""

from __future__ import annotations

import calendar
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from aw_server.query.cache import QueryCache
from aw_server.query.limits import QueryLimits
from tests.aw_server.dashboard.conftest import CHROMIUM, Loaded, Tab, new_tab
from tests.aw_server.dashboard.test_dashboard import fmt_duration

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

HOST = "yearhost"
WINDOW = f"aw-watcher-window_{HOST}"
AFK = f"aw-watcher-afk_{HOST}"
YEAR = 2023
START_OF_DAY = timedelta(hours=4)  # the dashboard's default startOfDay
YEAR_VIEW = f"#/activity?host={HOST}&range=year&date={YEAR}-06-15"
COMPLETE_MS = 120_000  # a whole year of (mostly empty) days on a shared machine


@dataclass
class YearData:
    # Active seconds per logical day (a day runs from 04:00 to 04:00 UTC).
    active: dict[date, float]
    # Window and AFK events each logical day's query reads.
    events_read: dict[date, int]

    def day(self, d: date) -> float:
        return self.active.get(d, 0.0)

    def month_totals(self) -> list[float]:
        totals = [0.0] * 12
        for d, seconds in self.active.items():
            if d.year == YEAR:
                totals[d.month - 1] += seconds
        return totals

    def weekday_totals(self) -> list[float]:
        """Monday first, as the dashboard's default startOfWeek."""
        totals = [0.0] * 7
        for d, seconds in self.active.items():
            if d.year == YEAR:
                totals[d.weekday()] += seconds
        return totals


def _spread(active: dict[date, float], start: datetime, end: datetime) -> None:
    """Add [start, end) to the logical days it covers."""
    t = start
    while t < end:
        logical = (t - START_OF_DAY).date()
        day_end = datetime(logical.year, logical.month, logical.day, tzinfo=UTC) \
            + timedelta(days=1) + START_OF_DAY
        stop = min(end, day_end)
        active[logical] += (stop - t).total_seconds()
        t = stop


def build(seed: int = 11) -> tuple[dict[str, list[dict[str, Any]]], YearData]:
    rng = random.Random(seed)
    first = date(YEAR, 1, 1)
    chosen = sorted({first, date(YEAR, 12, 31), date(YEAR, 3, 15),
                     *(first + timedelta(days=rng.randrange(365)) for _ in range(40))})
    window: list[dict[str, Any]] = []
    afk: list[dict[str, Any]] = []
    active: dict[date, float] = defaultdict(float)

    def block(start: datetime, end: datetime, not_afk: list[tuple[datetime, datetime]]) -> None:
        t = start
        while t < end:
            stop = min(end, t + timedelta(seconds=rng.randint(60, 900)))
            window.append({"timestamp": t.isoformat(), "duration": (stop - t).total_seconds(),
                           "data": {"app": rng.choice(["code", "firefox", "Slack"]), "title": "x"}})
            t = stop
        for a, b in not_afk:
            afk.append({"timestamp": a.isoformat(), "duration": (b - a).total_seconds(),
                        "data": {"status": "not-afk"}})
            _spread(active, max(a, start), min(b, end))

    for d in chosen:
        midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
        begin = midnight + timedelta(hours=9)
        end = begin + timedelta(minutes=rng.randint(30, 600))
        # Not-AFK: one or two stretches inside the window block, the rest unmarked.
        cut = begin + (end - begin) / 2
        spans = [(begin + timedelta(minutes=5), cut)]
        if rng.random() < 0.6:
            spans.append((cut + timedelta(minutes=10), end + timedelta(minutes=20)))
        block(begin, end, spans)
        if d.day % 3 == 0 or (d.month == 12 and d.day == 31):
            # A late night from 01:00 to 05:00 of the next calendar day: 3 h count for d.
            night = midnight + timedelta(days=1, hours=1)
            block(night, night + timedelta(hours=4),
                  [(night - timedelta(minutes=30), night + timedelta(hours=4, minutes=30))])
    events_read: dict[date, int] = defaultdict(int)
    for event in window + afk:
        start = datetime.fromisoformat(event["timestamp"])
        end = start + timedelta(seconds=event["duration"])
        first_day, last_day = (start - START_OF_DAY).date(), (end - START_OF_DAY).date()
        for offset in range((last_day - first_day).days + 1):
            events_read[first_day + timedelta(days=offset)] += 1
    return {WINDOW: window, AFK: afk}, YearData(dict(active), dict(events_read))


@pytest.fixture(scope="module")
def year_data(loaded: Loaded) -> Iterator[YearData]:
    events, data = build()
    with requests.Session() as http:
        for bucket_id, type_ in ((WINDOW, "currentwindow"), (AFK, "afkstatus")):
            response = http.post(f"{loaded.url}/api/0/buckets/{bucket_id}", timeout=30, json={
                "client": "year-test", "type": type_, "hostname": HOST})
            assert response.status_code in (200, 304), response.text
            response = http.post(f"{loaded.url}/api/0/buckets/{bucket_id}/events",
                                 json=events[bucket_id], timeout=60)
            assert response.status_code == 200, response.text
        try:
            yield data
        finally:
            for bucket_id in (WINDOW, AFK):
                http.delete(f"{loaded.url}/api/0/buckets/{bucket_id}?force=1", timeout=30)


def heat_cells(tab: Tab) -> dict[str, dict[str, Any]]:
    """Every square of the heat map by ISO date: level, seconds, label, position."""
    return {c["date"]: c for c in tab.page.evaluate("""() =>
        [...document.querySelectorAll('.year-heatmap svg.heatmap:not(.hm-swatch) rect.hm-cell')]
        .map((r) => ({date: r.dataset.date, level: r.dataset.level,
                      label: r.getAttribute('aria-label'),
                      seconds: r.dataset.seconds === undefined ? null : Number(r.dataset.seconds),
                      x: Number(r.getAttribute('x')), y: Number(r.getAttribute('y'))}))""")}


def card_seconds(tab: Tab, cls: str) -> list[float]:
    text = tab.page.locator(f"section.{cls} .card-body").get_attribute("data-seconds")
    assert text is not None
    return [float(v) for v in json.loads(text)]


def open_year(tab: Tab, fragment: str = YEAR_VIEW) -> None:
    tab.open(fragment)
    tab.wait_complete(COMPLETE_MS)


def test_heat_map_shows_each_days_active_time_from_the_raw_events(
        tab: Tab, year_data: YearData) -> None:
    open_year(tab)
    tab.shot("year")
    cells = heat_cells(tab)
    days = [date(YEAR, 1, 1) + timedelta(days=i) for i in range(365)]
    assert sorted(cells) == [d.isoformat() for d in days]
    for d in days:
        cell = cells[d.isoformat()]
        assert cell["seconds"] == pytest.approx(year_data.day(d), abs=0.01), d
        assert cell["level"] != "pending"
    # The night of Dec 31 runs into 2024: only its part before 04:00 counts here.
    assert year_data.day(date(YEAR, 12, 31)) > 3 * 3600
    assert year_data.day(date(YEAR + 1, 1, 1)) == pytest.approx(3600)
    busy = max(days, key=year_data.day)
    label = cells[busy.isoformat()]["label"]
    assert str(busy.day) in label and str(YEAR) in label
    assert label.endswith(f": {fmt_duration(year_data.day(busy))}")
    empty_day = next(d for d in days if year_data.day(d) == 0)
    assert cells[empty_day.isoformat()]["level"] == "0"
    assert not tab.page.locator(".hm-legend [data-key=to-come]").is_visible()  # a past year
    total = sum(year_data.day(d) for d in days)
    assert tab.page.locator("[data-stat=active-time] .value").inner_text() == fmt_duration(total)


def test_month_and_weekday_totals_add_up_the_raw_events(tab: Tab, year_data: YearData) -> None:
    open_year(tab)
    assert card_seconds(tab, "year-months") == pytest.approx(year_data.month_totals(), abs=0.01)
    assert card_seconds(tab, "year-weekdays") == pytest.approx(year_data.weekday_totals(), abs=0.01)
    bars = tab.page.locator("section.year-months svg rect.bar title").all_text_contents()
    assert len(bars) == 12
    assert bars[2].startswith(f"March {YEAR}") and bars[2].endswith(
        fmt_duration(year_data.month_totals()[2]))


def test_progress_shows_before_the_first_numbers(tab: Tab, year_data: YearData) -> None:
    tab.open(YEAR_VIEW)
    tab.page.wait_for_selector(".year-heatmap rect.hm-cell", timeout=20_000)
    tab.shot("year-loading")  # however far it got: for looking at the "not loaded" squares
    tab.wait_complete(COMPLETE_MS)
    progress, first = tab.page.evaluate(
        "['aw-year-progress', 'aw-activity-first-paint']"
        ".map((n) => performance.getEntriesByName(n)[0].startTime)")
    assert progress <= first
    assert tab.page.get_by_role("status").filter(has_text="Loaded 365 days").count() == 1
    assert tab.page.get_by_role("progressbar").get_attribute("aria-valuenow") == "365"


def test_previous_and_next_move_by_a_whole_year(
        tab: Tab, loaded: Loaded, year_data: YearData) -> None:
    open_year(tab)
    heading = tab.page.locator("h1")
    assert "2023" in heading.inner_text()
    tab.page.get_by_role("button", name="Previous").click()
    tab.page.wait_for_url("**date=2022-01-01**", timeout=10_000)
    tab.wait_complete(COMPLETE_MS)
    assert "2022" in heading.inner_text()
    cells = heat_cells(tab)
    assert min(cells) == "2022-01-01" and max(cells) == "2022-12-31"
    assert all(c["seconds"] == 0 for c in cells.values())
    tab.page.get_by_role("button", name="Next").click()
    tab.page.wait_for_url("**date=2023-01-01**", timeout=10_000)
    tab.page.get_by_role("button", name="Next").click()
    tab.page.wait_for_url("**date=2024-01-01**", timeout=10_000)
    tab.wait_complete(COMPLETE_MS)
    cells = heat_cells(tab)
    assert len(cells) == 366  # a leap year
    # The end of the night of 2023-12-31 (04:00-05:00) is the first hour of 2024-01-01.
    # "yearhost" writes into this server's own buckets, so it is the same device as the
    # shared fixture (a renamed host), whose hours that day (09:00-17:30) come on top.
    expected = year_data.day(date(2024, 1, 1)) + loaded.data.active_seconds(0)
    assert cells["2024-01-01"]["seconds"] == pytest.approx(expected)


def test_clicking_or_pressing_enter_on_a_day_opens_it(tab: Tab, year_data: YearData) -> None:
    open_year(tab)
    day = date(YEAR, 3, 15)
    tab.page.locator(f".year-heatmap rect[data-date='{day.isoformat()}']").click()
    tab.page.wait_for_url(f"**range=day&date={day.isoformat()}**", timeout=10_000)
    tab.wait_complete()
    assert tab.page.locator("[data-stat=active-time] .value").inner_text() == \
        fmt_duration(year_data.day(day))
    # Keyboard: one square in the tab order, arrows move by day and week, Enter opens.
    open_year(tab)
    tab.page.locator(f".year-heatmap rect[data-date='{YEAR}-12-31']").focus()
    tab.page.keyboard.press("ArrowLeft")
    tab.page.keyboard.press("ArrowUp")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(f"**range=day&date={YEAR}-12-23**", timeout=10_000)
    tab.wait_complete()


def test_weeks_start_on_the_start_of_week_setting(
        tab: Tab, loaded: Loaded, year_data: YearData) -> None:
    setting = f"{loaded.url}/api/0/settings/startOfWeek"
    assert requests.post(setting, json="Sunday", timeout=10).status_code == 200
    try:
        open_year(tab)
        tab.shot("year-sunday")
        labels = tab.page.locator(".year-heatmap svg.heatmap text.hm-weekday").all_text_contents()
        assert labels == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        cells = heat_cells(tab)
        # 2023-01-01 was a Sunday: top left; the 7th, a Saturday, ends that column.
        assert cells["2023-01-01"]["y"] == min(c["y"] for c in cells.values())
        assert cells["2023-01-07"]["x"] == cells["2023-01-01"]["x"]
        assert cells["2023-01-08"]["x"] > cells["2023-01-01"]["x"]
        weekdays = card_seconds(tab, "year-weekdays")
        monday_first = year_data.weekday_totals()
        assert weekdays == pytest.approx(monday_first[6:] + monday_first[:6], abs=0.01)
    finally:
        requests.delete(setting, timeout=10)


def test_heat_map_levels_stay_distinct_in_the_dark_theme(
        browser: Any, loaded: Loaded, year_data: YearData) -> None:
    dark = new_tab(browser, loaded.url, color_scheme="dark")
    try:
        open_year(dark)
        dark.shot("year-dark")
        fills = dark.page.evaluate("""() => Object.fromEntries(
          ['0', '1', '2', '3', '4'].map((level) => {
            const cell = document.querySelector(`.hm-legend rect[data-level="${level}"]`);
            return [level, getComputedStyle(cell).fill];
        }))""")
        assert len(set(fills.values())) == 5, fills
        background = dark.page.evaluate(
            "getComputedStyle(document.querySelector('.year-heatmap')).backgroundColor")
        assert background != "rgb(255, 255, 255)"
        assert dark.errors == []
    finally:
        dark.page.context.close()


def test_the_current_year_stops_at_today(tab: Tab, year_data: YearData) -> None:
    today = datetime.now(UTC).date()  # the browser runs in UTC
    tab.open(f"#/activity?host={HOST}&range=year&date={today.isoformat()}")
    tab.wait_complete(COMPLETE_MS)
    if datetime.now(UTC).date() != today:
        pytest.skip("the date changed while the page loaded")
    days = today.timetuple().tm_yday
    assert tab.page.get_by_role("status").inner_text() == f"Loaded {days} days."
    cells = heat_cells(tab)
    future = [c for d, c in cells.items() if d > today.isoformat()]
    assert len(cells) == (366 if calendar.isleap(today.year) else 365)
    assert all(c["level"] == "none" and c["label"].endswith(": still to come") for c in future)
    assert cells[today.isoformat()]["level"] == "0"
    # The legend names the empty squares of the days to come, as long as there are some.
    tab.shot("year-current")
    to_come = tab.page.locator(".hm-legend [data-key=to-come]")
    assert to_come.is_visible() == bool(future)
    if future:
        assert to_come.inner_text() == "still to come"


def test_a_batch_the_server_refuses_is_retried_one_day_at_a_time(
        tab: Tab, loaded: Loaded, year_data: YearData) -> None:
    """The server's event budget is set just above the busiest day, so single days pass
    and any request for several busy days is refused (503); no day may be lost."""
    queries = loaded.server.queries
    limits, cache = queries.limits, queries.cache
    queries.limits = QueryLimits(max_events=max(year_data.events_read.values()))
    queries.cache = QueryCache()  # every day computed again, so the budget applies
    refused: list[int] = []

    def watch(response: Any) -> None:
        if "/api/0/query/" in response.url and response.status == 503:
            refused.append(len(json.loads(response.request.post_data)["timeperiods"]))

    tab.page.on("response", watch)
    try:
        open_year(tab)
    finally:
        queries.limits, queries.cache = limits, cache
    assert refused and all(n > 1 for n in refused)
    # The refusals are what the browser logs for a failed request; nothing else.
    assert all("503" in e for e in tab.errors), tab.errors
    tab.errors.clear()
    assert tab.page.get_by_role("status").inner_text() == "Loaded 365 days."
    assert tab.page.locator(".error").count() == 0
    cells = heat_cells(tab)
    for d, seconds in year_data.active.items():
        if d.year == YEAR:
            assert cells[d.isoformat()]["seconds"] == pytest.approx(seconds, abs=0.01), d


def test_a_bar_per_week_adds_up_each_weeks_days(tab: Tab, year_data: YearData) -> None:
    open_year(tab)
    weekly = tab.page.locator("section[aria-label='Active time per week']")
    assert tab.page.locator("section[aria-label='Active time per day']").count() == 0
    # Weeks start on Monday (the default): 2023-01-01 is a Sunday, a week of its own.
    starts = [date(YEAR, 1, 1)] + [date(YEAR, 1, 2) + timedelta(weeks=i) for i in range(52)]
    expected = [sum(year_data.day(start + timedelta(days=k)) for k in range(7)
                    if (start + timedelta(days=k)).year == YEAR
                    and (i > 0 or k == 0)) for i, start in enumerate(starts)]
    seconds = json.loads(weekly.locator(".card-body").get_attribute("data-seconds") or "[]")
    assert seconds == pytest.approx(expected, abs=0.01)
    labels = [t for t in weekly.locator("svg text").all_text_contents() if t.isalpha()]
    assert labels == [calendar.month_abbr[m] for m in range(1, 13)]
