"""A synthetic desktop week for the dashboard tests, and its expected numbers.

Monday 2024-01-01 to Sunday 2024-01-07 (UTC; the browser runs with `timezone_id="UTC"`).
Each day has window events back to back from 08:00 to 18:00 (no gaps, so `flood` changes
nothing), AFK status for the whole day (not-afk 09:00-12:00 and 13:00-17:30 on weekdays,
10:00-12:00 on weekends), and a Firefox web-watcher bucket whose tabs span exactly the
Firefox window events. The expected active time and top application are computed here
from the raw events, independently of the server's query engine.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

HOST = "testhost"
WINDOW = f"aw-watcher-window_{HOST}"
AFK = f"aw-watcher-afk_{HOST}"
WEB = f"aw-watcher-web-firefox_{HOST}"
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 7

# (app, weight, titles): "code" dominates, so it is the top application on every day.
APPS: list[tuple[str, int, list[str]]] = [
    ("code", 40, ["main.py - project", "test_app.py - project", "README.md - project"]),
    ("firefox", 30, ["GitHub - pull request", "YouTube - talk", "Wikipedia - Sorting"]),
    ("Slack", 15, ["general - Slack", "dev - Slack"]),
    ("Alacritty", 10, ["bash", "htop"]),
    ("Spotify", 5, ["Playlist"]),
]
URLS = {
    "GitHub - pull request": "https://github.com/example/project/pull/1",
    "YouTube - talk": "https://www.youtube.com/watch?v=abc",
    "Wikipedia - Sorting": "https://en.wikipedia.org/wiki/Sorting_algorithm",
}


@dataclass
class Fixture:
    events: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Active (not-AFK) seconds per app for each day index, from the raw events.
    active_by_day: list[dict[str, float]] = field(default_factory=list)

    def active_seconds(self, day: int) -> float:
        return sum(self.active_by_day[day].values())

    def top_app(self, day: int) -> str:
        per_app = self.active_by_day[day]
        return max(per_app, key=lambda app: per_app[app])

    def week_seconds(self) -> float:
        return sum(self.active_seconds(d) for d in range(DAYS))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def build(seed: int = 7) -> Fixture:
    rng = random.Random(seed)
    fixture = Fixture()
    weights = [w for _, w, _ in APPS]
    for day in range(DAYS):
        midnight = FIRST_DAY + timedelta(days=day)
        weekend = day >= 5
        active = ([(10, 0, 12, 0)] if weekend else [(9, 0, 12, 0), (13, 0, 17, 30)])
        spans = [(midnight + timedelta(hours=a, minutes=b),
                  midnight + timedelta(hours=c, minutes=d)) for a, b, c, d in active]
        # AFK bucket: alternating statuses covering the whole day.
        afk = fixture.events[AFK]
        t = midnight
        for start, end in spans:
            afk.append({"timestamp": _iso(t), "duration": (start - t).total_seconds(),
                        "data": {"status": "afk"}})
            afk.append({"timestamp": _iso(start), "duration": (end - start).total_seconds(),
                        "data": {"status": "not-afk"}})
            t = end
        next_midnight = midnight + timedelta(days=1)
        afk.append({"timestamp": _iso(t), "duration": (next_midnight - t).total_seconds(),
                    "data": {"status": "afk"}})
        per_app: dict[str, float] = defaultdict(float)
        t = midnight + timedelta(hours=8)
        stop = midnight + timedelta(hours=18)
        while t < stop:
            app, _, titles = rng.choices(APPS, weights)[0]
            title = rng.choice(titles)
            end = min(stop, t + timedelta(seconds=rng.randint(20, 240)))
            duration = (end - t).total_seconds()
            fixture.events[WINDOW].append({"timestamp": _iso(t), "duration": duration,
                                           "data": {"app": app, "title": title}})
            if app == "firefox":
                fixture.events[WEB].append({"timestamp": _iso(t), "duration": duration, "data": {
                    "url": URLS[title], "title": title, "audible": False, "incognito": False}})
            per_app[app] += sum(_overlap(t, end, s0, s1) for s0, s1 in spans)
            t = end
        fixture.active_by_day.append(dict(per_app))
    return fixture


BUCKET_TYPES = {WINDOW: "currentwindow", AFK: "afkstatus", WEB: "web.tab.current"}


def load(base_url: str, fixture: Fixture) -> None:
    """Create the three buckets and insert the events over the public API."""
    with requests.Session() as http:
        for bucket_id, type_ in BUCKET_TYPES.items():
            response = http.post(f"{base_url}/api/0/buckets/{bucket_id}", timeout=30, json={
                "client": "dashboard-fixture", "type": type_, "hostname": HOST})
            assert response.status_code in (200, 304), response.text
            events = fixture.events[bucket_id]
            for i in range(0, len(events), 1000):
                response = http.post(f"{base_url}/api/0/buckets/{bucket_id}/events",
                                     json=events[i:i + 1000], timeout=60)
                assert response.status_code == 200, response.text
