"""End to end over HTTP: a synthetic week loaded through the REST API, then aw-webui's
canonical desktop summary sent to ``POST /api/0/query/`` exactly as the web UI sends it,
checked against an independent computation done here with plain interval arithmetic.

Also the query cache seen from outside: a past period asked twice is answered from the
cache (same result, one more cache hit), and a heartbeat into a bucket the query reads
changes the next answer.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.models import US_PER_S, Event, format_us
from aw_server.serve import Server
from tests.conftest import make_server

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import datagen  # noqa: E402 - bench/ is not a package

DAYS = 7
WINDOW_EVENTS = 14_000  # 2,000 a day: enough structure, loads in a few seconds
PULSETIME_US = 5 * US_PER_S
HTTP_TIMEOUT_S = 120.0
BATCH = 2_000

# aw-webui's default categories (src/util/classes.ts), as `[name, rule]` pairs: what the
# web UI puts into `categorize(...)` after JSON.stringify (parents with `{"type": "none"}`
# rules are left out by the web UI, so they are here too).
WEBUI_DEFAULT_CLASSES: list[list[Any]] = [
    [["Work"], {"type": "regex", "regex": "Google Docs|libreoffice|ReText"}],
    [["Work", "Programming"],
     {"type": "regex",
      "regex": "GitHub|Stack Overflow|BitBucket|Gitlab|vim|Spyder|kate|Ghidra|Scite"}],
    [["Work", "Programming", "ActivityWatch"],
     {"type": "regex", "regex": "ActivityWatch|aw-", "ignore_case": True}],
    [["Work", "Image"], {"type": "regex", "regex": "Gimp|Inkscape"}],
    [["Work", "Video"], {"type": "regex", "regex": "Kdenlive"}],
    [["Work", "Audio"], {"type": "regex", "regex": "Audacity"}],
    [["Work", "3D"], {"type": "regex", "regex": "Blender"}],
    [["Media", "Games"], {"type": "regex", "regex": "Minecraft|RimWorld"}],
    [["Media", "Video"], {"type": "regex", "regex": "YouTube|Plex|VLC"}],
    [["Media", "Social Media"],
     {"type": "regex", "regex": "reddit|Facebook|Twitter|Instagram|devRant", "ignore_case": True}],
    [["Media", "Music"], {"type": "regex", "regex": "Spotify|Deezer", "ignore_case": True}],
    [["Comms", "IM"],
     {"type": "regex",
      "regex": "Messenger|Telegram|Signal|WhatsApp|Rambox|Slack|Riot|Discord|Nheko"}],
    [["Comms", "Email"], {"type": "regex", "regex": "Gmail|Thunderbird|mutt|alpine"}],
]


def webui_query(window_bucket: str, afk_bucket: str) -> list[str]:
    """aw-webui `fullDesktopQuery` (no browser or stopwatch buckets on this host), one
    statement per array entry, the way `querystr_to_array` splits it."""
    classes = json.dumps(WEBUI_DEFAULT_CLASSES)
    return [
        f'events = flood(query_bucket("{window_bucket}"));',
        f'not_afk = flood(query_bucket("{afk_bucket}"));',
        'not_afk = filter_keyvals(not_afk, "status", ["not-afk"]);',
        "events = filter_period_intersect(events, not_afk);",
        f"events = categorize(events, {classes});",
        'title_events = sort_by_duration(merge_events_by_keys(events, ["app", "title"]));',
        'app_events   = sort_by_duration(merge_events_by_keys(title_events, ["app"]));',
        'cat_events   = sort_by_duration(merge_events_by_keys(events, ["$category"]));',
        "app_events  = limit_events(app_events, 100);",
        "title_events  = limit_events(title_events, 100);",
        "duration = sum_durations(events);",
        "browser_events = [];",
        "audible_events = filter_keyvals(browser_events, \"audible\", [true]);",
        'browser_urls = limit_events(sort_by_duration(merge_events_by_keys(browser_events, '
        '["url"])), 100);',
        "browser_duration = sum_durations(browser_events);",
        'RETURN = {"window": {"app_events": app_events, "title_events": title_events, '
        '"cat_events": cat_events, "active_events": not_afk, "duration": duration}, '
        '"browser": {"urls": browser_urls, "duration": browser_duration}};',
    ]


# --------------------------------------------------------------------------- data


def week() -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = defaultdict(list)
    for bucket_id, event in datagen.generate(seed=7, days=DAYS, window_events=WINDOW_EVENTS):
        out[bucket_id].append(event)
    return dict(out)


def _json_event(event: Event) -> dict[str, Any]:
    return {"timestamp": format_us(event.timestamp_us),
            "duration": event.duration_us / US_PER_S, "data": event.data}


def load(session: requests.Session, base: str, data: dict[str, list[Event]]) -> None:
    for bucket_id, events in data.items():
        type_ = "currentwindow" if "window" in bucket_id else "afkstatus"
        response = session.post(f"{base}/api/0/buckets/{bucket_id}", timeout=HTTP_TIMEOUT_S,
                                json={"client": "e2e", "type": type_,
                                      "hostname": datagen.HOSTNAME})
        assert response.status_code == 200, response.text
        for i in range(0, len(events), BATCH):
            body = [_json_event(e) for e in events[i:i + BATCH]]
            response = session.post(f"{base}/api/0/buckets/{bucket_id}/events", json=body,
                                    timeout=HTTP_TIMEOUT_S)
            assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- oracle

Span = tuple[int, int]


def _clip(events: list[Event], start: int, end: int) -> list[tuple[int, int, Event]]:
    out = []
    for e in sorted(events, key=lambda e: e.timestamp_us):
        a, b = max(e.timestamp_us, start), min(e.end_us, end)
        if a < b:
            out.append((a, b, e))
    return out


def _flooded_cover(events: list[Event], start: int, end: int) -> list[Span]:
    """Time covered by `events` within [start, end) once gaps <= 5 s are filled.

    flood closes every gap up to the pulsetime between neighbours (whichever side grows),
    so for a bucket whose events do not overlap its cover is exactly this.
    """
    spans: list[list[int]] = []
    for a, b, _ in _clip(events, start, end):
        if spans and a - spans[-1][1] <= PULSETIME_US:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return [(a, b) for a, b in spans]


def _intersect(xs: list[Span], ys: list[Span]) -> list[Span]:
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] <= ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def expected_active_us(data: dict[str, list[Event]], start: int, end: int) -> int:
    """Window time while not AFK: |flooded window cover ∩ flooded not-afk cover|."""
    afk = data[datagen.AFK_BUCKET]
    # AFK events from datagen are back to back, so flooding them moves nothing; the
    # not-afk cover is just the not-afk events, clipped.
    not_afk = [(a, b) for a, b, e in _clip(afk, start, end) if e.data["status"] == "not-afk"]
    window = _flooded_cover(data[datagen.WINDOW_BUCKET], start, end)
    return sum(b - a for a, b in _intersect(window, not_afk))


def expected_top_app(data: dict[str, list[Event]], start: int, end: int) -> str:
    """The app with most not-AFK time, from the raw (unflooded) events."""
    afk = data[datagen.AFK_BUCKET]
    not_afk = [(a, b) for a, b, e in _clip(afk, start, end) if e.data["status"] == "not-afk"]
    per_app: dict[str, int] = defaultdict(int)
    for a, b, e in _clip(data[datagen.WINDOW_BUCKET], start, end):
        per_app[e.data["app"]] += sum(y - x for x, y in _intersect([(a, b)], not_afk))
    ranked = sorted(per_app.items(), key=lambda kv: kv[1], reverse=True)
    assert ranked[0][1] > 1.2 * ranked[1][1], "top app must win clearly for this check"
    return ranked[0][0]


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def data() -> dict[str, list[Event]]:
    return week()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory,
           data: dict[str, list[Event]]) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("e2e"))
    try:
        with requests.Session() as session:
            load(session, server.url, data)
        yield server
    finally:
        server.stop()


def _period(start_us: int, days: int) -> str:
    return f"{format_us(start_us)}/{format_us(start_us + days * datagen.DAY_US)}"


def _query(base: str, lines: list[str], periods: list[str]) -> list[Any]:
    response = requests.post(f"{base}/api/0/query/", json={"timeperiods": periods,
                                                           "query": lines},
                             timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    result = response.json()
    assert isinstance(result, list) and len(result) == len(periods)
    return result


QUERY = webui_query(datagen.WINDOW_BUCKET, datagen.AFK_BUCKET)


@pytest.mark.parametrize("days", [1, 7])
def test_canonical_query_matches_independent_totals(
    loaded: Server, data: dict[str, list[Event]], days: int
) -> None:
    start = datagen.START_US + (2 * datagen.DAY_US if days == 1 else 0)
    end = start + days * datagen.DAY_US
    (result,) = _query(loaded.url, QUERY, [_period(start, days)])
    window = result["window"]
    expected = expected_active_us(data, start, end)
    assert expected > 3600 * US_PER_S  # the check is about real activity
    assert window["duration"] == pytest.approx(expected / US_PER_S, abs=1e-3)
    assert sum(e["duration"] for e in window["app_events"]) == pytest.approx(
        expected / US_PER_S, abs=1e-2)
    assert sum(e["duration"] for e in window["cat_events"]) == pytest.approx(
        expected / US_PER_S, abs=1e-2)
    assert window["app_events"][0]["data"] == {"app": expected_top_app(data, start, end)}
    categories = {tuple(e["data"]["$category"]) for e in window["cat_events"]}
    assert ("Work", "Programming") in categories and ("Uncategorized",) in categories
    assert result["browser"] == {"urls": [], "duration": 0.0}


def test_seven_daily_periods_sum_to_the_week(loaded: Server) -> None:
    start = datagen.START_US
    (week_result,) = _query(loaded.url, QUERY, [_period(start, 7)])
    days = _query(loaded.url, QUERY, [_period(start + d * datagen.DAY_US, 1) for d in range(7)])
    assert sum(d["window"]["duration"] for d in days) == pytest.approx(
        week_result["window"]["duration"], abs=1e-3)
    for key, field in (("app_events", "app"), ("cat_events", "$category")):
        per_day: dict[str, float] = defaultdict(float)
        for day in days:
            for event in day["window"][key]:
                per_day[json.dumps(event["data"][field])] += event["duration"]
        whole = {json.dumps(e["data"][field]): e["duration"] for e in week_result["window"][key]}
        assert per_day.keys() == whole.keys()
        for name, seconds in whole.items():
            assert per_day[name] == pytest.approx(seconds, abs=1e-3), name


def test_past_period_is_served_from_cache_until_a_read_bucket_changes(
    tmp_path: Path, data: dict[str, list[Event]]
) -> None:
    server = make_server(tmp_path)
    try:
        with requests.Session() as session:
            # Day 1 only; window events stop 5 min into a long not-AFK stretch, so the
            # heartbeats below land in active time and must show up in the summary.
            day_end = datagen.START_US + datagen.DAY_US
            active = next(e for e in data[datagen.AFK_BUCKET]
                          if e.data["status"] == "not-afk" and e.duration_us >= 20 * 60 * US_PER_S
                          and e.end_us <= day_end)
            cut = active.timestamp_us + 5 * 60 * US_PER_S
            small = {datagen.WINDOW_BUCKET: [e for e in data[datagen.WINDOW_BUCKET]
                                             if e.end_us <= cut],
                     datagen.AFK_BUCKET: [e for e in data[datagen.AFK_BUCKET]
                                          if e.end_us <= day_end]}
            load(session, server.url, small)
            last = max(e.end_us for e in small[datagen.WINDOW_BUCKET])
            period = [_period(datagen.START_US, 1)]
            cache = server.queries.cache
            assert cache is not None
            hits_before = cache.hits
            first = _query(server.url, QUERY, period)
            assert cache.hits == hits_before
            second = _query(server.url, QUERY, period)
            assert second == first
            assert cache.hits == hits_before + 1
            # A heartbeat (new data, inside the past period) into the window bucket.
            beat = {"timestamp": format_us(last + 2 * US_PER_S), "duration": 0,
                    "data": {"app": "Blender", "title": "cube.blend"}}
            response = session.post(
                f"{server.url}/api/0/buckets/{datagen.WINDOW_BUCKET}/heartbeat",
                params={"pulsetime": 60}, json=beat, timeout=HTTP_TIMEOUT_S)
            assert response.status_code == 200, response.text
            beat["timestamp"] = format_us(last + 62 * US_PER_S)
            response = session.post(
                f"{server.url}/api/0/buckets/{datagen.WINDOW_BUCKET}/heartbeat",
                params={"pulsetime": 60}, json=beat, timeout=HTTP_TIMEOUT_S)
            assert response.status_code == 200, response.text
            third = _query(server.url, QUERY, period)
            assert third != first
            apps = {e["data"]["app"] for e in third[0]["window"]["app_events"]}
            assert "Blender" in apps
            assert third[0]["window"]["duration"] == pytest.approx(
                first[0]["window"]["duration"] + 62, abs=1e-3)
            assert _query(server.url, QUERY, period) == third
    finally:
        server.stop()
