"""Three devices' worth of desktop data for the "All devices" tests, and its expected
numbers computed here from the raw events with the overlap rule (docs/dashboard.md),
independently of the server's query engine and of the dashboard's code.

Two days, 2024-03-05 and 2024-03-06 (UTC; the browser runs with `timezone_id="UTC"`).
Each device uses its own apps; their not-AFK hours overlap (laptop A with laptop B
late in the morning, laptop B with the desktop early in the afternoon), so the combined
time is less than the sum. Two devices are called "laptop" and use the same bucket ids.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

FIRST_DAY = datetime(2024, 3, 5, tzinfo=UTC)
DAYS = 2

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class DeviceSpec:
    hostname: str
    apps: list[tuple[str, list[str]]]
    window_hours: tuple[float, float]  # window events back to back over these hours
    # (no apps: a device with only an AFK bucket)
    not_afk_hours: list[tuple[float, float]]  # per day; the rest of 06:00-22:00 is AFK
    seed: int


SPECS = [
    DeviceSpec("laptop", [("code", ["main.py", "tests.py"]), ("firefox", ["Docs", "Issues"])],
               (8.5, 13.0), [(9.0, 12.5)], 1),
    DeviceSpec("laptop", [("Slack", ["general", "dev"]), ("Alacritty", ["bash"])],
               (11.0, 16.0), [(11.5, 13.0), (13.5, 15.0)], 2),
    DeviceSpec("desktop", [("Blender", ["scene.blend"]), ("Spotify", ["Playlist"])],
               (14.0, 18.5), [(14.0, 17.0)], 3),
]

# A device with only AFK data, not AFK while the desktop is (for its own test).
AFK_ONLY = DeviceSpec("tablet", [], (0, 0), [(16.0, 19.0)], 4)


@dataclass
class DeviceData:
    spec: DeviceSpec
    events: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Per day: the active pieces (window event cut to a not-AFK span), and seconds per app.
    active: list[list[Span]] = field(default_factory=list)
    per_app: list[dict[str, float]] = field(default_factory=list)

    @property
    def window_bucket(self) -> str:
        return f"aw-watcher-window_{self.spec.hostname}"

    @property
    def afk_bucket(self) -> str:
        return f"aw-watcher-afk_{self.spec.hostname}"

    def seconds(self, day: int) -> float:
        return union_seconds(self.active[day])

    def top_app(self, days: range) -> str:
        totals: dict[str, float] = defaultdict(float)
        for day in days:
            for app, value in self.per_app[day].items():
                totals[app] += value
        return max(totals, key=lambda app: totals[app])


def union_seconds(spans: list[Span]) -> float:
    """Length of the union of [start, end) spans: overlapping time counts once."""
    total = 0.0
    current: Span | None = None
    for start, end in sorted(spans):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def _at(day: datetime, hours: float) -> datetime:
    return day + timedelta(seconds=round(hours * 3600))


def build_device(spec: DeviceSpec) -> DeviceData:
    rng = random.Random(spec.seed)
    data = DeviceData(spec)
    for day_index in range(DAYS):
        day = FIRST_DAY + timedelta(days=day_index)
        spans = [(_at(day, a), _at(day, b)) for a, b in spec.not_afk_hours]
        t = _at(day, 6)
        for start, end in spans:
            data.events[data.afk_bucket] += [
                {"timestamp": t.isoformat(), "duration": (start - t).total_seconds(),
                 "data": {"status": "afk"}},
                {"timestamp": start.isoformat(), "duration": (end - start).total_seconds(),
                 "data": {"status": "not-afk"}}]
            t = end
        stop_afk = _at(day, 22)
        data.events[data.afk_bucket].append({"timestamp": t.isoformat(),
                                             "duration": (stop_afk - t).total_seconds(),
                                             "data": {"status": "afk"}})
        pieces: list[Span] = []
        per_app: dict[str, float] = defaultdict(float)
        if not spec.apps:  # only AFK data: its not-AFK periods are its active time
            data.active.append(spans)
            data.per_app.append({})
            continue
        t, stop = _at(day, spec.window_hours[0]), _at(day, spec.window_hours[1])
        while t < stop:
            app, titles = rng.choice(spec.apps)
            end = min(stop, t + timedelta(seconds=rng.randint(30, 400)))
            data.events[data.window_bucket].append({
                "timestamp": t.isoformat(), "duration": (end - t).total_seconds(),
                "data": {"app": app, "title": rng.choice(titles)}})
            for s0, s1 in spans:
                a, b = max(t, s0), min(end, s1)
                if a < b:
                    pieces.append((a, b))
                    per_app[app] += (b - a).total_seconds()
            t = end
        data.active.append(pieces)
        data.per_app.append(dict(per_app))
    return data


@dataclass
class Expected:
    devices: list[DeviceData]

    def combined(self, days: range) -> float:
        return sum(union_seconds([p for d in self.devices for p in d.active[day]])
                   for day in days)

    def device_sum(self, days: range) -> float:
        return sum(d.seconds(day) for d in self.devices for day in days)

    def overlap(self, days: range) -> float:
        return self.device_sum(days) - self.combined(days)

    def top_app(self, days: range) -> str:
        totals: dict[str, float] = defaultdict(float)
        for d in self.devices:
            for day in days:
                for app, value in d.per_app[day].items():
                    totals[app] += value
        return max(totals, key=lambda app: totals[app])


def build() -> Expected:
    return Expected([build_device(spec) for spec in SPECS])


def load(base_url: str, data: DeviceData) -> None:
    """The device's window and AFK buckets and events, over its own server's public API."""
    with requests.Session() as http:
        for bucket_id, type_ in ((data.window_bucket, "currentwindow"),
                                 (data.afk_bucket, "afkstatus")):
            if not data.events[bucket_id]:
                continue
            response = http.post(f"{base_url}/api/0/buckets/{bucket_id}", timeout=30, json={
                "client": "devices-fixture", "type": type_, "hostname": data.spec.hostname})
            assert response.status_code in (200, 304), response.text
            response = http.post(f"{base_url}/api/0/buckets/{bucket_id}/events",
                                 json=data.events[bucket_id], timeout=60)
            assert response.status_code == 200, response.text
