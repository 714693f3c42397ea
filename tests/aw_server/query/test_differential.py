"""Differential test: the same data and query programs against aw-server 0.12.0 and ours.

Both servers are loaded over HTTP with identical millisecond-precision data (0.12.0
truncates timestamps to milliseconds): a window bucket on two hosts, an AFK bucket and a
browser-like bucket with url/title/audible, Unicode titles, zero durations and events
that span midnight and the periods' starts. Every program in ``PROGRAMS`` then runs on
both through ``POST /api/0/query/`` and the results are compared after normalising
(event ids dropped, float seconds rounded to 3 decimals, timestamps compared as UTC
instants). A few wire answers are compared too: the order of ``GET /api/0/buckets/``
(creation order, also after a bucket is re-created), ``"timeperiods": []`` and a
loopback ``Host`` without a port.

A program either agrees, or carries a ``Divergence``: the reason (also in the table in
docs/query.md) and a check that the difference is exactly the documented one, so a new,
undocumented difference still fails.

Programs avoid two known aw-server 0.12.0 bugs rather than copying them: its parser
drops an argument that follows a nested call, list or dict (such values go through
variables), and it answers some argument errors with 500 (no error cases here). Periods
end in a gap of the data except in the program that checks end clipping on purpose.

Every gap (and overlap) between events of a bucket is an even number of milliseconds,
so each midpoint `flood` puts in a gap is a whole millisecond and aw-core's truncation
of moved starts to milliseconds does not apply; flood results must then be equal. A
separate bucket (`FLOOD_CASES`) holds hand-made cases, one per period, among them the
documented differences (a midpoint on half a millisecond, a zero-duration event inside
another), each checked for its exact shape on both servers.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import make_server
from tests.support.queries import desktop_summary
from tests.support.reference import ReferenceServer

HTTP_TIMEOUT_S = 60.0
WINDOW = "aw-watcher-window_laptop"
WINDOW_OTHER = "aw-watcher-window_desktop"
AFK = "aw-watcher-afk_laptop"
WEB = "aw-watcher-web-firefox_laptop"
FLOOD_CASES = "flood-cases"
T0 = datetime(2024, 3, 9, 22, 0, tzinfo=UTC)  # data runs from here to ~03:40 next day
MIDNIGHT = datetime(2024, 3, 10, tzinfo=UTC)

# Periods whose end falls after all data (0.12.0 clips at end + 1 ms, see below).
P_ALL = "2024-03-09T20:00:00Z/2024-03-10T08:00:00Z"
P_AFTER_MIDNIGHT = "2024-03-10T00:00:00+00:00/2024-03-10T08:00:00+00:00"
P_OFFSET = "2024-03-10T00:30:00.250+01:00/2024-03-10T09:00:00+01:00"  # 23:30:00.25Z
P_EMPTY = "2024-03-08T00:00:00Z/2024-03-08T12:00:00Z"
PERIODS = [P_ALL, P_AFTER_MIDNIGHT, P_OFFSET, P_EMPTY]
# One FLOOD_CASES case each, on 2024-03-11 (after all other data).
FLOOD_PERIODS = tuple(f"2024-03-11T{hour:02}:00:00+00:00/2024-03-11T{hour:02}:30:00+00:00"
                      for hour in range(9, 15))

APPS: list[tuple[str, list[str]]] = [
    ("firefox", ["GitHub - pull request", "Stack Overflow", "(3) YouTube – Grüße",
                 "Reddit: r/python", "Wikipedia — 日本語"]),
    ("code", ["● main.py — aw", "* README.md", "query2.py", "ActivityWatch: test"]),
    ("Alacritty", ["bash", "vim query.md", "ssh büro"]),
    ("Slack", ["general 💬", "(12) dev"]),
    ("steam", ["Game - FPS: 59.2 - Main", "Store"]),
    ("zoom", ["Meeting: standup"]),
]
URLS = [
    "https://www.github.com/ActivityWatch/aw-core/pull/1?tab=files#diff",
    "https://stackoverflow.com/questions/42;type=a?sort=votes",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "file:///home/user/r%C3%A9sum%C3%A9.pdf",
    "about:blank",
    "http://例え.jp/パス?q=ü#frag",
]


def ms(dt: datetime) -> str:
    """RFC 3339 with millisecond precision, what 0.12.0 keeps."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def build_data() -> dict[str, list[dict[str, Any]]]:
    """Deterministic events per bucket; each bucket's events do not overlap."""
    rng = random.Random(20240309)
    window: list[dict[str, Any]] = []
    t = T0
    for i in range(260):
        app, titles = rng.choice(APPS)
        title = rng.choice(titles)
        gap_ms = rng.choice([0, 0, 0, 120, 900, 2500, 4998, 5000, 7000, 60_000])
        duration_ms = 0 if i % 37 == 5 else rng.randint(1, 120_000)
        previous_end = t
        t += timedelta(milliseconds=gap_ms)
        if t < MIDNIGHT < t + timedelta(milliseconds=duration_ms + 120_000):
            # one event straddles midnight (and thus P_AFTER_MIDNIGHT's start)
            t = MIDNIGHT - timedelta(milliseconds=9_877)
            t -= (t - previous_end) % timedelta(milliseconds=2)  # an even gap (see above)
            duration_ms = 30_333
            app, title = "code", "query2.py"
        window.append({"timestamp": ms(t), "duration": duration_ms / 1000,
                       "data": {"app": app, "title": title}})
        t += timedelta(milliseconds=duration_ms)
    # AFK: alternating not-afk / afk, back to back with small holes, spanning midnight.
    afk: list[dict[str, Any]] = []
    t = T0 - timedelta(minutes=3, milliseconds=250)
    status = "not-afk"
    end = datetime.fromisoformat(window[-1]["timestamp"]) + timedelta(minutes=5)
    for _ in range(200):
        if t >= end:
            break
        length_ms = rng.randint(60_000, 1_800_000) if status == "not-afk" else rng.randint(
            30_000, 600_000)
        afk.append({"timestamp": ms(t), "duration": length_ms / 1000,
                    "data": {"status": status}})
        t += timedelta(milliseconds=length_ms + rng.choice([0, 0, 2, 3000]))
        status = "afk" if status == "not-afk" else "not-afk"
    # Browser: url/title/audible, some zero durations.
    web: list[dict[str, Any]] = []
    t = T0 + timedelta(seconds=17, milliseconds=3)
    for i in range(120):
        url = rng.choice(URLS)
        duration_ms = 0 if i % 29 == 3 else rng.randint(500, 200_000)
        web.append({"timestamp": ms(t), "duration": duration_ms / 1000,
                    "data": {"url": url, "title": f"tab {i % 7} – ü", "audible": i % 5 == 0,
                             "incognito": False, "tabCount": i % 4}})
        t += timedelta(milliseconds=duration_ms + rng.choice([0, 40, 3000, 9000]))
    other = [{"timestamp": ms(T0 + timedelta(minutes=k)), "duration": 42.5,
              "data": {"app": "steam", "title": "Store"}} for k in range(5)]
    return {WINDOW: window, AFK: afk, WEB: web, WINDOW_OTHER: other,
            FLOOD_CASES: flood_cases()}


def flood_cases() -> list[dict[str, Any]]:
    """One hand-made case per `FLOOD_PERIODS` period: (offset s, duration s, app)."""
    cases = [
        # aw-core 0.5.18 and aw-server-rust: Firefox 300.75 s, Terminal from 09:15:00.750.
        [(0, 300.5, "Firefox"), (301, 240, "Terminal")],
        # [a 10.25 s, b from 10.25 for 18.25 s]
        [(0, 10, "a"), (10.5, 10, "b"), (23.5, 5, "b")],
        # different data inside an event: the outer event stops where it starts
        [(0, 30, "a"), (5, 5, "b"), (40, 5, "a"), (44, 3, "c")],
        # touching and overlapping equal data, a tiny overlap, a gap of exactly 5 s
        [(0, 10, "a"), (10, 5, "a"), (14, 4, "a"), (17.96, 2, "b"), (24.96, 1, "c")],
        # documented: the midpoint 10.0005 (aw-core: b starts at 10.000, ends 0.5 ms
        # early, and the gap of exactly 5 s after it stays open)
        [(0, 10, "a"), (10.001, 10, "b"), (25.001, 5, "c")],
        # documented: a zero-duration event inside another (aw-core: the gap stays open)
        [(0, 10, "a"), (5, 0, "x"), (12, 8, "b")],
    ]
    events = []
    for case, period in zip(cases, FLOOD_PERIODS, strict=True):
        start = datetime.fromisoformat(period.split("/")[0])
        events += [{"timestamp": ms(start + timedelta(seconds=offset)), "duration": duration,
                    "data": {"app": app}} for offset, duration, app in case]
    return events


BUCKETS: list[tuple[str, str, str]] = [  # creation order matters for find_bucket on 0.12.0
    (WINDOW, "currentwindow", "laptop"),
    (AFK, "afkstatus", "laptop"),
    (WEB, "web.tab.current", "laptop"),
    (WINDOW_OTHER, "currentwindow", "desktop"),
    (FLOOD_CASES, "currentwindow", "laptop"),
]


def load(session: requests.Session, base: str, data: dict[str, list[dict[str, Any]]]) -> None:
    for bucket_id, type_, host in BUCKETS:
        response = session.post(f"{base}/api/0/buckets/{bucket_id}", timeout=HTTP_TIMEOUT_S,
                                 json={"client": "difftest", "type": type_, "hostname": host})
        assert response.status_code == 200, response.text
        response = session.post(f"{base}/api/0/buckets/{bucket_id}/events",
                                json=data[bucket_id], timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- normalising


def _is_event(value: Any) -> bool:
    return isinstance(value, dict) and {"timestamp", "duration", "data"} <= value.keys()


def normalise(value: Any) -> Any:
    """Drop ids, round seconds to 3 decimals, timestamps as UTC instants."""
    if _is_event(value):
        instant = datetime.fromisoformat(value["timestamp"]).astimezone(UTC)
        return {"timestamp": instant.isoformat(timespec="microseconds"),
                "duration": round(float(value["duration"]), 3),
                "data": normalise(value["data"])}
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, float):
        return round(value, 3)
    return value


def _sort_key(event: Any) -> str:
    return json.dumps(event, sort_keys=True, ensure_ascii=False)


def unordered(value: Any) -> Any:
    """Lists of events sorted canonically, for results whose order is unspecified."""
    if isinstance(value, list):
        items = [unordered(item) for item in value]
        if items and all(_is_event(item) for item in items):
            return sorted(items, key=_sort_key)
        return items
    if isinstance(value, dict):
        return {key: unordered(item) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class Divergence:
    """A documented difference: why, and a check that it is exactly that difference."""

    reason: str
    check: Callable[[list[Any], list[Any]], None]  # (ours, reference), normalised


@dataclass(frozen=True)
class Program:
    name: str
    lines: list[str]
    periods: tuple[str, ...] = tuple(PERIODS)
    order_matters: bool = True
    divergence: Divergence | None = None


def _window() -> str:
    return f'events = query_bucket("{WINDOW}");'


def _trim_end_by_1ms(ours: list[Any], reference: list[Any]) -> None:
    """0.12.0 rounds the period end up by 1 ms before clipping (aw_datastore `get`)."""
    assert ours != reference
    for period, our_events, ref_events in zip(END_CUT_PERIODS, ours, reference, strict=True):
        end = datetime.fromisoformat(period.split("/")[1]).astimezone(UTC)
        fixed = []
        for event in ref_events:
            start = datetime.fromisoformat(event["timestamp"])
            stop = start + timedelta(seconds=event["duration"])
            if stop == end + timedelta(milliseconds=1):
                if start == end:
                    continue  # starts exactly at the end: 0.12.0 includes it, 1 ms long
                event = {**event, "duration": round(event["duration"] - 0.001, 3)}
            fixed.append(event)
        assert fixed == our_events


def _no_overlaps(events: list[Any]) -> bool:
    spans = sorted((datetime.fromisoformat(e["timestamp"]),
                    datetime.fromisoformat(e["timestamp"]) + timedelta(seconds=e["duration"]))
                   for e in events)
    return all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def _spans(events: list[Any]) -> list[tuple[str, float, str]]:
    """(start time of day, duration, app) of a FLOOD_CASES result."""
    return [(e["timestamp"][11:26], e["duration"], e["data"]["app"]) for e in events]


def _flood_documented(ours: list[Any], reference: list[Any]) -> None:
    """Equal, except the last two cases, which give exactly the documented results."""
    assert ours[:-2] == reference[:-2]
    assert [_spans(r) for r in ours[-2:]] == [
        [("13:00:00.000000", 10.001, "a"), ("13:00:10.000500", 12.501, "b"),
         ("13:00:22.501000", 7.5, "c")],
        [("14:00:00.000000", 11.0, "a"), ("14:00:11.000000", 9.0, "b")]]
    assert [_spans(r) for r in reference[-2:]] == [
        [("13:00:00.000000", 10.0, "a"), ("13:00:10.000000", 10.001, "b"),
         ("13:00:25.001000", 5.0, "c")],
        [("14:00:00.000000", 10.0, "a"), ("14:00:12.000000", 8.0, "b")]]


def _union_no_overlap_all_cut(ours: list[Any], reference: list[Any]) -> None:
    """0.12.0 cuts only the first events2 event an events1 event covers, and a zero-duration
    events1 event deletes the events2 event it touches; ours cuts all and deletes none."""
    assert ours != reference
    for our_result, ref_result in zip(ours, reference, strict=True):
        assert _no_overlaps(our_result)
        assert _cover_seconds(our_result) >= _cover_seconds(ref_result)
        # every events1 (browser) event survives unchanged in both
        web = [e for e in ref_result if "url" in e["data"]]
        assert [e for e in our_result if "url" in e["data"]] == web


def _chunk_gap_to_previous(ours: list[Any], reference: list[Any]) -> None:
    """0.12.0 measures the 5 s gap against the list's last event, not the previous one."""
    assert ours != reference
    for our_result, ref_result in zip(ours, reference, strict=True):
        assert [s for c in our_result for s in c["data"]["subevents"]] == [
            s for c in ref_result for s in c["data"]["subevents"]]
        assert len(our_result) >= len(ref_result)


def _cover_seconds(events: list[Any]) -> float:
    return sum((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
               for a, b in _cover(events))


def _cover(events: list[Any]) -> list[tuple[str, str]]:
    """Covered time as merged (start, end) spans, rounded to ms."""
    spans: list[list[datetime]] = []
    for event in sorted(events, key=lambda e: e["timestamp"]):
        start = datetime.fromisoformat(event["timestamp"])
        stop = start + timedelta(seconds=event["duration"])
        if spans and start <= spans[-1][1] + timedelta(milliseconds=1):
            spans[-1][1] = max(spans[-1][1], stop)
        else:
            spans.append([start, stop])
    return [(ms(a), ms(b)) for a, b in spans]


# Periods that end inside events (the end-clipping program only).
END_CUT_PERIODS = ("2024-03-09T20:00:00Z/2024-03-10T00:00:00Z",
                   "2024-03-09T23:00:00+01:00/2024-03-10T00:00:10.5+01:00")

CLASSES = [
    [["Work"], {"type": "regex", "regex": "Google Docs|libreoffice|ReText"}],
    [["Work", "Programming"], {"type": "regex", "regex": "GitHub|Stack Overflow|code|vim"}],
    [["Work", "Programming", "ActivityWatch"],
     {"type": "regex", "regex": "activitywatch|aw-", "ignore_case": True}],
    [["Media", "Games"], {"type": "regex", "regex": "steam|FPS:"}],
    [["Media", "Video"], {"type": "regex", "regex": "youtube", "ignore_case": True}],
    [["Comms"], {"type": "regex", "regex": "Slack|zoom", "select_keys": ["app"]}],
    [["Comms", "Meetings"], {"type": "regex", "regex": "Meeting", "select_keys": ["title"]}],
    [["Reference"], {"type": "regex", "regex": "Wikipedia|日本語"}],
    [["Never"], {"type": "regex", "regex": ""}],
]
# aw-core 0.5.18 ranks: `priority` (else `weight`) instead of 10 per path element.
CLASSES_RANKED = [
    [["Work"], {"type": "regex", "regex": "code", "priority": 50}],
    [["Work", "Programming", "Python"], {"type": "regex", "regex": "code|vim"}],
    [["Media"], {"type": "regex", "regex": "YouTube", "weight": 5}],
    [["Media", "Video"], {"type": "regex", "regex": "YouTube"}],
    [["Later"], {"type": "regex", "regex": "YouTube", "priority": 20}],
    [["Games"], {"type": "regex", "regex": "steam", "priority": 0}],  # 0.12.0: no "-7"
]
TAGS = [
    ["dev", {"type": "regex", "regex": "code|vim|GitHub"}],
    ["unicode", {"type": "regex", "regex": "[^\\x00-\\x7f]"}],
    ["loud", {"type": "regex", "regex": "YOUTUBE", "ignore_case": True}],
    ["dev", {"type": "regex", "regex": "Alacritty", "select_keys": ["app"]}],
]


def canonical_lines(classes: list[Any], flood: bool = True) -> list[str]:
    return desktop_summary(json.dumps(WINDOW), json.dumps(AFK), json.dumps(classes), flood=flood)


def _programs() -> list[Program]:
    w = _window()
    afk = f'afk = query_bucket("{AFK}");'
    web = f'web = query_bucket("{WEB}");'
    not_afk = 'not_afk = filter_keyvals(afk, "status", ["not-afk"]);'
    return [
        Program("query_bucket", [w, "RETURN = events;"]),
        Program("query_bucket_web", [web, "RETURN = web;"]),
        Program("query_bucket_end_clipping", [w, "RETURN = events;"], END_CUT_PERIODS,
                divergence=Divergence(
                    "query_bucket: 0.12.0 rounds the period end up by 1 ms, so events "
                    "crossing the end keep 1 ms too much and one starting exactly at the "
                    "end is returned with 1 ms", _trim_end_by_1ms)),
        Program("eventcount", [f'RETURN = query_bucket_eventcount("{WINDOW}");']),
        Program("find_bucket_hostname",
                ['b = find_bucket("aw-watcher-window_", "desktop");',
                 "RETURN = [b, query_bucket(b)];"]),
        Program("find_bucket_unique", ['RETURN = find_bucket("afk");']),
        # Several match: the first created (id order would give WINDOW_OTHER).
        Program("find_bucket_ambiguous", ['RETURN = find_bucket("aw-watcher-window");']),
        Program("filter_keyvals", [w, 'RETURN = filter_keyvals(events, "app", '
                                      '["code", "Slack", "nope"]);']),
        Program("filter_keyvals_unicode", [w, 'v = ["(3) YouTube – Grüße", "ssh büro"];',
                                           'RETURN = filter_keyvals(events, "title", v);']),
        Program("filter_keyvals_bool", [web, 'RETURN = filter_keyvals(web, "audible", '
                                             '[true]);']),
        Program("exclude_keyvals", [w, 'RETURN = exclude_keyvals(events, "app", '
                                       '["firefox", "code"]);']),
        Program("filter_keyvals_regex", [w, 'RETURN = filter_keyvals_regex(events, "title", '
                                            '"^\\\\(\\\\d+\\\\)|[💬ü]");']),
        Program("filter_keyvals_regex_inline_flag",
                [w, 'RETURN = filter_keyvals_regex(events, "app", "(?i)^STEAM$");']),
        Program("filter_period_intersect", [w, afk, not_afk,
                                            "RETURN = filter_period_intersect(events, "
                                            "not_afk);"]),
        Program("filter_period_intersect_web", [w, web, 'ff = filter_keyvals(events, "app", '
                                                '["firefox"]);',
                                                "RETURN = filter_period_intersect(web, ff);"]),
        Program("period_union", [afk, web, not_afk,
                                 'loud = filter_keyvals(web, "audible", [true]);',
                                 "RETURN = period_union(not_afk, loud);"]),
        Program("union_no_overlap", [afk, web, "a = sort_by_timestamp(afk);",
                                     "b = sort_by_timestamp(web);",
                                     "RETURN = union_no_overlap(b, a);"],
                divergence=Divergence(
                    "union_no_overlap: when one events1 event covers several events2 "
                    "events, 0.12.0 cuts only the first; a zero-duration events1 event deletes "
                    "the events2 event it touches", _union_no_overlap_all_cut)),
        Program("limit_events", [w, "RETURN = limit_events(events, 7);"]),
        Program("limit_events_zero", [w, "RETURN = limit_events(events, 0);"]),
        Program("merge_events_by_keys_app_title",
                [w, 'RETURN = sort_by_duration(merge_events_by_keys(events, '
                    '["app", "title"]));']),
        Program("merge_events_by_keys_missing_key",
                [w, web, "both = concat(events, web);",
                 'RETURN = merge_events_by_keys(both, ["app"]);'], order_matters=False),
        Program("merge_events_by_keys_bool", [web, 'k = ["audible"];',
                                              "RETURN = merge_events_by_keys(web, k);"]),
        Program("chunk_events_by_key", [w, "s = sort_by_timestamp(events);",
                                        'RETURN = chunk_events_by_key(s, "app");'],
                divergence=Divergence(
                    "chunk_events_by_key: 0.12.0 measures the 5 s gap against the last "
                    "event of the whole list", _chunk_gap_to_previous)),
        Program("sort_by_timestamp", [w, web, "both = concat(web, events);",
                                      "RETURN = sort_by_timestamp(both);"]),
        Program("sort_by_duration", [w, "RETURN = sort_by_duration(events);"]),
        Program("sum_durations", [w, afk, web,
                                  "RETURN = [sum_durations(events), sum_durations(afk), "
                                  "sum_durations(web)];"]),
        Program("concat", [w, "o = query_bucket(find_bucket(\"desktop\"));",
                           "RETURN = concat(o, limit_events(events, 3));"]),
        Program("flood_afk", [afk, "RETURN = flood(afk);"]),
        Program("flood_window", [w, "RETURN = flood(events);"]),
        Program("flood_pulsetime", [w, "RETURN = flood(events, 60);"]),
        Program("flood_then_merge", [w, "f = flood(events);",
                                     'RETURN = merge_events_by_keys(f, ["app"]);'],
                order_matters=False),
        Program("flood_web", [web, "RETURN = flood(web);"]),
        Program("flood_cases", [f'c = query_bucket("{FLOOD_CASES}");', "RETURN = flood(c);"],
                FLOOD_PERIODS, divergence=Divergence(
                    "flood: aw-core 0.5.18 truncates a moved start to milliseconds (the "
                    "event then ends early and a gap of exactly pulsetime after it stays "
                    "open) and lets a zero-duration event inside another keep a gap open",
                    _flood_documented)),
        Program("merge_subwatcher_fields",
                [w, web, "ff = filter_keyvals(events, \"app\", [\"firefox\"]);",
                 "tabs = filter_period_intersect(web, ff);",
                 'RETURN = merge_subwatcher_fields(ff, tabs, ["url", "title", "audible"]);']),
        Program("merge_subwatcher_fields_flooded_sub_wins",
                [w, web, "f = flood(events);", "tabs = filter_period_intersect(flood(web), f);",
                 'keys = ["url", "title"];',
                 'm = merge_subwatcher_fields(f, tabs, keys, "sub_wins");',
                 'RETURN = sort_by_duration(merge_events_by_keys(m, ["app", "title"]));']),
        Program("split_url_events", [web, "RETURN = split_url_events(web);"]),
        Program("split_url_merge_domain", [web, "s = split_url_events(web);",
                                           'RETURN = sort_by_duration(merge_events_by_keys('
                                           's, ["$domain"]));']),
        Program("simplify_window_titles", [w, 'RETURN = simplify_window_titles(events, '
                                              '"title");']),
        Program("simplify_window_titles_app", [w, 'RETURN = simplify_window_titles(events, '
                                                  '"app");']),
        Program("categorize", [w, f"RETURN = categorize(events, {json.dumps(CLASSES)});"]),
        Program("categorize_merge", [w, f"c = categorize(events, {json.dumps(CLASSES)});",
                                     'RETURN = sort_by_duration(merge_events_by_keys(c, '
                                     '["$category"]));']),
        Program("categorize_priority",
                [w, f"c = categorize(events, {json.dumps(CLASSES_RANKED)});",
                 'RETURN = merge_events_by_keys(c, ["$category"]);']),
        Program("categorize_web", [web, f"RETURN = categorize(web, {json.dumps(CLASSES)});"]),
        Program("tag", [w, f"RETURN = tag(events, {json.dumps(TAGS)});"]),
        Program("nop", ["RETURN = nop();"]),
        Program("literals", ['RETURN = {"a": [1, "x", true, false], "b": {"c": []}};']),
        Program("predefined", ["RETURN = [STARTTIME, ENDTIME];"], (P_ALL, P_EMPTY)),
        Program("canonical_no_flood", canonical_lines(CLASSES, flood=False)),
        Program("canonical_desktop", canonical_lines(CLASSES)),
    ]


PROGRAMS = _programs()


# --------------------------------------------------------------------------- running


def post_query(session: requests.Session, base: str, program: Program) -> tuple[int, Any]:
    response = session.post(f"{base}/api/0/query/", timeout=HTTP_TIMEOUT_S,
                            json={"timeperiods": list(program.periods), "query": program.lines})
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body


def compare(program: Program, ours: tuple[int, Any], reference: tuple[int, Any]) -> str | None:
    """None if the results agree (or diverge exactly as documented), else a report."""
    if ours[0] != 200 or reference[0] != 200:
        return f"{program.name}: status ours {ours[0]} {ours[1]!r:.300} / " \
               f"reference {reference[0]} {reference[1]!r:.300}"
    mine, theirs = normalise(ours[1]), normalise(reference[1])
    if not program.order_matters:
        mine, theirs = unordered(mine), unordered(theirs)
    if program.divergence is not None:
        try:
            program.divergence.check(mine, theirs)
        except AssertionError as exc:
            return f"{program.name}: not the documented divergence: {exc!s:.2000}"
        return None
    if mine == theirs:
        return None
    return f"{program.name}: results differ\n ours: {_first_diff(mine, theirs)}"


def _first_diff(a: Any, b: Any, path: str = "") -> str:
    if type(a) is not type(b):
        return f"{path}: {a!r:.300} != {b!r:.300}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key, "<missing>") != b.get(key, "<missing>"):
                return _first_diff(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}; first items {a[:2]!r:.400} / " \
                   f"{b[:2]!r:.400}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_diff(x, y, f"{path}[{i}]")
    return f"{path}: {a!r:.300} != {b!r:.300}"


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, Any]]]:
    return build_data()


def test_programs_cover_every_shared_function() -> None:
    shared = {"query_bucket", "query_bucket_eventcount", "find_bucket", "filter_keyvals",
              "exclude_keyvals", "filter_keyvals_regex", "filter_period_intersect",
              "period_union", "union_no_overlap", "limit_events", "merge_events_by_keys",
              "chunk_events_by_key", "sort_by_timestamp", "sort_by_duration", "sum_durations",
              "concat", "flood", "split_url_events", "simplify_window_titles", "categorize",
              "tag", "nop", "merge_subwatcher_fields"}
    text = "\n".join(line for p in PROGRAMS for line in p.lines)
    assert {name for name in shared if f"{name}(" not in text} == set()
    assert len(PROGRAMS) >= 30


def test_every_divergence_is_in_the_docs_table() -> None:
    """Each expected difference names its function, which has a row in docs/query.md."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "query.md").read_text("utf-8")
    for program in PROGRAMS:
        if program.divergence is not None:
            function = program.divergence.reason.split(":")[0]
            assert f"| `{function}` |" in doc, program.name


@pytest.mark.reference
def test_same_results_as_aw_server_0_12(
    reference_server: ReferenceServer, tmp_path: Path, data: dict[str, list[dict[str, Any]]]
) -> None:
    (tmp_path / "ours").mkdir()
    ours = make_server(tmp_path / "ours")
    try:
        with requests.Session() as session:
            load(session, reference_server.url, data)
            load(session, ours.url, data)
            problems = [
                problem
                for program in PROGRAMS
                if (problem := compare(program, post_query(session, ours.url, program),
                                       post_query(session, reference_server.url, program)))
            ]
            problems += wire_problems(session, ours.url, reference_server.url)
            problems += bucket_order_problems(session, ours.url, reference_server.url)
    finally:
        ours.stop()
    assert problems == [], "\n\n".join(problems)


def wire_problems(session: requests.Session, ours: str, reference: str) -> list[str]:
    """Requests whose answers must be the same: no time periods (200 [], the program is
    not even parsed) and a loopback Host without a port (a client behind a proxy; the
    bucket lists are compared by their ids, the rest of a bucket differs by design)."""
    requests_ = {
        "no periods": ("POST", "/api/0/query/",
                       {"json": {"timeperiods": [], "query": ["RETURN = ((;"]}}),
        "Host: localhost": ("GET", "/api/0/buckets/", {"headers": {"Host": "localhost"}}),
        "Host: 127.0.0.1": ("GET", "/api/0/buckets/", {"headers": {"Host": "127.0.0.1"}}),
    }
    problems = []
    for name, (method, path, kwargs) in requests_.items():
        answers = [session.request(method, base + path, timeout=HTTP_TIMEOUT_S, **kwargs)
                   for base in (ours, reference)]
        mine, theirs = ((a.status_code, list(a.json())) for a in answers)
        if mine != theirs:
            problems.append(f"{name}: ours {mine!r:.200} / reference {theirs!r:.200}")
    return problems


def bucket_order_problems(session: requests.Session, ours: str, reference: str) -> list[str]:
    """GET /api/0/buckets/ lists buckets in creation order (not id order), also after a
    bucket is deleted and created again; tools take "the first window bucket" from it."""
    def listed() -> tuple[list[str], list[str]]:
        mine, theirs = (list(session.get(f"{base}/api/0/buckets/",
                                         timeout=HTTP_TIMEOUT_S).json())
                        for base in (ours, reference))
        return mine, theirs

    problems = []
    first = listed()
    if first[0] != first[1] or first[0] != [b for b, _, _ in BUCKETS]:
        problems.append(f"bucket order: ours {first[0]} / reference {first[1]}")
    for base in (ours, reference):
        response = session.delete(f"{base}/api/0/buckets/{WINDOW}", params={"force": 1},
                                  timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, response.text
        response = session.post(f"{base}/api/0/buckets/{WINDOW}", timeout=HTTP_TIMEOUT_S,
                                json={"client": "difftest", "type": "currentwindow",
                                      "hostname": "laptop"})
        assert response.status_code == 200, response.text
    again = listed()
    if again[0] != again[1] or again[0][-1] != WINDOW:
        problems.append(f"bucket order after re-creation: ours {again[0]} / "
                        f"reference {again[1]}")
    return problems
