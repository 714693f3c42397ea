"""Deterministic synthetic ActivityWatch data for benchmarks.

`generate(seed, days)` yields `(bucket_id, Event)` pairs shaped like a desktop's window
and AFK buckets: back-to-back window events of a few seconds with polling jitter, a
Zipf-like mix of ~40 apps and a few thousand titles, AFK periods during the day and
nights away. The same seed and arguments always give the same events, so the HTTP
benchmark against the reference server can load identical data.

`ArraySource` is a compact in-memory `EventSource` over that data (three int arrays and
a table of distinct data dicts per bucket), so the benchmark measures the query engine
and not the storage of a million Python objects.
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

from aw_server.errors import NoSuchBucket
from aw_server.models import US_PER_S, BucketInfo, Event

HOSTNAME = "benchhost"
WINDOW_BUCKET = f"aw-watcher-window_{HOSTNAME}"
AFK_BUCKET = f"aw-watcher-afk_{HOSTNAME}"
START_US = 1_704_067_200 * US_PER_S  # 2024-01-01T00:00:00Z: every period is in the past
DAY_US = 86_400 * US_PER_S

APPS = [
    ("firefox", ["GitHub", "Stack Overflow", "YouTube", "Reddit", "Gmail", "Wikipedia",
                 "Google Docs", "Hacker News", "Twitter", "Netflix", "Amazon", "Jira"]),
    ("code", ["main.py", "models.py", "README.md", "test_query.py", "Cargo.toml", "index.ts"]),
    ("Alacritty", ["bash", "vim", "htop", "git log", "ssh server", "python"]),
    ("Slack", ["general", "random", "dev", "design", "incident"]),
    ("thunderbird", ["Inbox", "Drafts", "Sent"]),
    ("Spotify", ["Playlist", "Podcast", "Album"]),
    ("zoom", ["Meeting", "Standup", "1:1"]),
    ("libreoffice", ["report.odt", "budget.ods", "slides.odp"]),
    ("Discord", ["gaming", "friends"]),
    ("steam", ["Store", "Library", "Game - FPS: 60.0"]),
] + [(f"app{i}", [f"window {j}" for j in range(5)]) for i in range(30)]

# The 12 category rules of the canonical summary query (shaped like aw-client's classes).
CATEGORY_RULES: list[list[Any]] = [
    [["Work"], {"type": "regex", "regex": "Google Docs|libreoffice|Jira"}],
    [["Work", "Programming"], {"type": "regex", "regex": "GitHub|Stack Overflow|code|vim"}],
    [["Work", "Programming", "ActivityWatch"], {"type": "regex", "regex": "ActivityWatch|aw-",
                                                "ignore_case": True}],
    [["Work", "Terminal"], {"type": "regex", "regex": "Alacritty|bash|ssh",
                            "select_keys": ["app", "title"]}],
    [["Comms"], {"type": "regex", "regex": "Slack|Discord|thunderbird|Gmail"}],
    [["Comms", "Meetings"], {"type": "regex", "regex": "zoom|Meeting|Standup"}],
    [["Media"], {"type": "regex", "regex": "YouTube|Netflix|Spotify", "ignore_case": True}],
    [["Media", "Music"], {"type": "regex", "regex": "Spotify|Podcast|Album"}],
    [["Media", "Games"], {"type": "regex", "regex": "steam|FPS:"}],
    [["Media", "Social Media"], {"type": "regex", "regex": "reddit|twitter|hacker news",
                                 "ignore_case": True}],
    [["Shopping"], {"type": "regex", "regex": "Amazon|Store"}],
    [["Reference"], {"type": "regex", "regex": "Wikipedia|README", "select_keys": ["title"]}],
]


def _afk_periods(rng: random.Random, start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """(start, end, afk) back-to-back: 22:00-07:00 away, daytime alternating."""
    t = start
    while t < end:
        seconds_of_day = ((t - START_US) // US_PER_S) % 86_400
        if seconds_of_day >= 22 * 3600 or seconds_of_day < 7 * 3600:
            until_morning = (7 * 3600 - seconds_of_day) % 86_400
            length, afk = until_morning * US_PER_S, True
        elif rng.random() < 0.75:
            length, afk = rng.randint(5 * 60, 90 * 60) * US_PER_S, False
        else:
            length, afk = rng.randint(3 * 60, 40 * 60) * US_PER_S, True
        length = max(length, US_PER_S)
        yield t, min(t + length, end), afk
        t += length


def generate(
    seed: int, days: int, window_events: int | None = None
) -> Iterator[tuple[str, Event]]:
    """Window events (default ~14,300 per day, i.e. 100k per week) plus AFK events.

    Window events come out oldest first, then AFK events oldest first. Data dicts are
    shared between events with equal data, as a storage layer that interns them would.
    """
    rng = random.Random(seed)
    end = START_US + days * DAY_US
    count = window_events if window_events is not None else days * 100_000 // 7
    slot_us = days * DAY_US // max(count, 1)
    # Leave ~5 % slack for randomness so the requested count fits in the days.
    mean_duration = max(1, slot_us * 95 // 100 - 900_000)
    weights = [1 / (rank + 1) for rank in range(len(APPS))]
    datas: dict[tuple[str, str], dict[str, Any]] = {}
    t = START_US
    for _ in range(count):
        app, titles = rng.choices(APPS, weights)[0]
        title = titles[min(int(rng.paretovariate(1.2)) - 1, len(titles) - 1)]
        if rng.random() < 0.3:  # many distinct titles, as browsers and editors produce
            title = f"{title} - {rng.randint(1, 400)}"
        data = datas.setdefault((app, title), {"app": app, "title": title})
        roll = rng.random()
        # Mostly back-to-back with 0-1 s polling jitter, sometimes a short hole.
        gap = rng.randint(0, US_PER_S) if roll < 0.9 else rng.randint(US_PER_S, 8 * US_PER_S)
        duration = max(1, int(rng.expovariate(1 / mean_duration)))
        if t + gap + duration > end:
            break
        yield WINDOW_BUCKET, Event(t + gap, duration, data)
        t += gap + duration
    afk_data = {"status": "afk"}
    not_afk_data = {"status": "not-afk"}
    for start, stop, afk in _afk_periods(rng, START_US, end):
        yield AFK_BUCKET, Event(start, stop - start, afk_data if afk else not_afk_data)


class ArraySource:
    """Read-only in-memory `EventSource` for events that do not overlap within a bucket."""

    def __init__(self, pairs: Iterable[tuple[str, Event]], *, share_data: bool = True) -> None:
        """`share_data=False` hands out a fresh data dict per event, as a storage layer
        that parses each row's JSON separately would."""
        self.share_data = share_data
        self._starts: dict[str, array[int]] = {}
        self._ends: dict[str, array[int]] = {}
        self._data_index: dict[str, array[int]] = {}
        self._datas: list[dict[str, Any]] = []
        data_ids: dict[int, int] = {}
        for bucket_id, event in pairs:
            if bucket_id not in self._starts:
                self._starts[bucket_id] = array("q")
                self._ends[bucket_id] = array("q")
                self._data_index[bucket_id] = array("l")
            index = data_ids.get(id(event.data))
            if index is None:
                index = data_ids[id(event.data)] = len(self._datas)
                self._datas.append(event.data)
            self._starts[bucket_id].append(event.timestamp_us)
            self._ends[bucket_id].append(event.end_us)
            self._data_index[bucket_id].append(index)

    def buckets(self) -> list[BucketInfo]:
        return [
            BucketInfo(b, "currentwindow" if "window" in b else "afkstatus", "bench", HOSTNAME)
            for b in self._starts  # in creation order: the order generate() meets them
        ]

    def _range(self, bucket_id: str, start_us: int, end_us: int) -> tuple[int, int]:
        if bucket_id not in self._starts:
            raise NoSuchBucket(bucket_id)
        low = bisect.bisect_left(self._ends[bucket_id], start_us)
        high = bisect.bisect_right(self._starts[bucket_id], end_us)
        return low, max(low, high)

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        low, high = self._range(bucket_id, start_us, end_us)
        starts, ends = self._starts[bucket_id], self._ends[bucket_id]
        index, datas = self._data_index[bucket_id], self._datas
        if self.share_data:
            out = [
                Event(starts[i], ends[i] - starts[i], datas[index[i]], i + 1)
                for i in range(high - 1, low - 1, -1)
            ]
        else:
            out = [
                Event(starts[i], ends[i] - starts[i], dict(datas[index[i]]), i + 1)
                for i in range(high - 1, low - 1, -1)
            ]
        # Only the oldest and newest events can stick out of the range: clip those.
        for position in {0, len(out) - 1} if out else ():
            event = out[position]
            start = max(event.timestamp_us, start_us)
            end = min(event.end_us, end_us)
            out[position] = Event(start, end - start, event.data, event.id)
        return out

    def event_table(self, bucket_id: str, start_us: int, end_us: int,
                    rows_hint: int | None = None) -> Any:
        """The same events as `events`, as the columnar table the query engine prefers."""
        import numpy as np

        from aw_server.event_table import EventTable

        low, high = self._range(bucket_id, start_us, end_us)
        newest_first = slice(high - 1, low - 1 if low else None, -1)
        starts = np.frombuffer(self._starts[bucket_id], dtype=np.int64)[newest_first]
        ends = np.frombuffer(self._ends[bucket_id], dtype=np.int64)[newest_first]
        index = np.asarray(self._data_index[bucket_id], dtype=np.intp)[newest_first]
        start = np.maximum(starts, start_us)
        end = np.minimum(ends, end_us)
        ids = np.arange(low + 1, high + 1, dtype=np.int64)[::-1]
        return EventTable(start, end - start, ids, index, self._datas)

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int:
        low, high = self._range(bucket_id, start_us, end_us)
        return high - low

    def change_marker(self, bucket_id: str) -> int:
        if bucket_id not in self._starts:
            raise NoSuchBucket(bucket_id)
        return 0
