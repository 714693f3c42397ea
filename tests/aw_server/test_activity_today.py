"""Combined active time across devices (`aw_server/activity_today.py`) on real SQLite
datastores, with the other devices' buckets brought by the real in-process sync."""

from __future__ import annotations

from aw_server.activity_today import combined_activity, flooded, intersect, union
from aw_server.datastore.store import Datastore
from aw_server.models import Bucket, Event, format_us
from aw_server.query.service import QueryService
from tests.aw_server.sync.helpers import T0, S, sync

MIN = 60 * S
SPAN = (T0 - 3600 * S, T0 + 3600 * S)


def watcher_buckets(store: Datastore, host: str, *, window: bool = True,
                    afk: bool = True) -> tuple[str, str]:
    created = "2024-01-01T00:00:00+00:00"
    window_id, afk_id = f"aw-watcher-window_{host}", f"aw-watcher-afk_{host}"
    if window:
        store.buckets.create(Bucket(window_id, "currentwindow", "aw-watcher-window", host,
                                    created))
    if afk:
        store.buckets.create(Bucket(afk_id, "afkstatus", "aw-watcher-afk", host, created))
    return window_id, afk_id


def afk_events(store: Datastore, bucket_id: str, *spans: tuple[int, int, str]) -> None:
    store.events.insert(bucket_id, [Event(start, end - start, {"status": status})
                                    for start, end, status in spans])


def window_events(store: Datastore, bucket_id: str, *spans: tuple[int, int]) -> None:
    store.events.insert(bucket_id, [Event(start, end - start, {"app": f"app{i}", "title": "t"})
                                    for i, (start, end) in enumerate(spans)])


def three_devices(trio: list[Datastore]) -> list[Datastore]:
    """a (this device) active 0-1.5 min, b 0.5-2.5 min (a minute with a), c AFK-only
    with 5-6 min not-AFK; a's and b's window events also run into their AFK time."""
    a, b, c = trio
    win, afk = watcher_buckets(a, "desk")
    window_events(a, win, (T0, T0 + MIN), (T0 + MIN, T0 + 3 * MIN))
    afk_events(a, afk, (T0, T0 + 90 * S, "not-afk"), (T0 + 90 * S, T0 + 4 * MIN, "afk"))
    win, afk = watcher_buckets(b, "laptop")
    window_events(b, win, (T0 + 30 * S, T0 + 3 * MIN))
    afk_events(b, afk, (T0, T0 + 30 * S, "afk"), (T0 + 30 * S, T0 + 150 * S, "not-afk"))
    _, afk = watcher_buckets(c, "server", window=False)
    afk_events(c, afk, (T0 + 5 * MIN, T0 + 6 * MIN, "not-afk"),
               (T0 + 6 * MIN, T0 + 7 * MIN, "afk"))
    sync(a, b)
    sync(a, c)
    return [a, b, c]


def test_a_minute_on_two_devices_counts_once_and_an_afk_only_device_counts(
        trio: list[Datastore]) -> None:
    a, b, c = three_devices(trio)
    result = combined_activity(a, "desk", *SPAN)
    own = {d.device_id: d.active_us for d in result.devices}
    assert own == {a.device_id: 90 * S, b.device_id: 120 * S, c.device_id: 60 * S}
    assert result.combined_us == 150 * S + 60 * S  # 0-2.5 min once, then c's minute
    assert result.overlap_us == 60 * S


def test_the_span_clips_every_device(trio: list[Datastore]) -> None:
    a, _, _ = three_devices(trio)
    result = combined_activity(a, "desk", T0 + MIN, T0 + 5 * MIN + 30 * S)
    assert result.combined_us == 90 * S + 30 * S
    assert sorted(d.active_us for d in result.devices) == [30 * S, 30 * S, 90 * S]


def test_window_events_count_when_a_device_has_no_afk_bucket(store: Datastore) -> None:
    win, _ = watcher_buckets(store, "desk", afk=False)
    window_events(store, win, (T0, T0 + MIN), (T0 + 30 * S, T0 + 2 * MIN))
    store.buckets.create(Bucket("aw-watcher-web_desk", "web.tab.current", "web", "desk",
                                "2024-01-01T00:00:00+00:00"))
    result = combined_activity(store, "desk", *SPAN)
    assert result.combined_us == 2 * MIN and len(result.devices) == 1


def test_nothing_recorded_is_zero_not_an_error(store: Datastore) -> None:
    result = combined_activity(store, "desk", *SPAN)
    assert (result.combined_us, result.devices) == (0, ())


def test_agrees_with_the_rule_written_in_query2(trio: list[Datastore]) -> None:
    """The same figure as the query language's period functions on the same buckets."""
    a, _, _ = three_devices(trio)
    by_type: dict[str, list[str]] = {}
    for info in a.source.buckets():
        by_type.setdefault(info.type, []).append(info.id)
    program = []
    names = []
    for i, window in enumerate(sorted(by_type["currentwindow"])):
        afk = window.replace("aw-watcher-window", "aw-watcher-afk")
        program.append(f'w{i} = query_bucket("{window}");'
                       f'n{i} = filter_keyvals(query_bucket("{afk}"), "status", ["not-afk"]);'
                       f'a{i} = period_union(filter_period_intersect(w{i}, n{i}), []);')
        names.append(f"a{i}")
    afk_only = [b for b in by_type["afkstatus"] if "server" in b]
    program.append(f'c = period_union(filter_keyvals(query_bucket("{afk_only[0]}"), "status",'
                   ' ["not-afk"]), []);')
    program.append(f"RETURN = sum_durations(period_union(period_union({names[0]}, "
                   f"{names[1]}), c));")
    (seconds,) = QueryService(a.source).query(program, [f"{format_us(SPAN[0])}/"
                                                        f"{format_us(SPAN[1])}"])
    assert seconds * S == combined_activity(a, "desk", *SPAN).combined_us


def test_gaps_a_watcher_leaves_are_flooded_as_the_dashboard_floods(store: Datastore) -> None:
    """Window events 1 s apart (a poll between two titles) and AFK statuses 3 s apart:
    the same figure as the dashboard's program, which floods every bucket first."""
    win, afk = watcher_buckets(store, "desk")
    window_events(store, win, (T0, T0 + MIN), (T0 + MIN + S, T0 + 2 * MIN),
                  (T0 + 2 * MIN + S, T0 + 4 * MIN))
    afk_events(store, afk, (T0, T0 + 150 * S, "not-afk"),
               (T0 + 153 * S, T0 + 3 * MIN, "afk"), (T0 + 183 * S, T0 + 5 * MIN, "not-afk"))
    program = [f'w = flood(query_bucket("{win}"));',
               f'n = filter_keyvals(flood(query_bucket("{afk}")), "status", ["not-afk"]);',
               "RETURN = sum_durations(period_union(filter_period_intersect(w, n), []));"]
    (seconds,) = QueryService(store.source).query(program, [f"{format_us(SPAN[0])}/"
                                                            f"{format_us(SPAN[1])}"])
    result = combined_activity(store, "desk", *SPAN)
    # 0-151.5 s (half of the gap to "afk") and 181.5-240 s (half of the one before).
    assert result.combined_us == 151_500_000 + 58_500_000
    assert seconds * S == result.combined_us


def web_bucket(store: Datastore, bucket_id: str, *tabs: tuple[int, int, bool]) -> None:
    store.buckets.create(Bucket(bucket_id, "web.tab.current", "aw-watcher-web", "desk",
                                "2024-01-01T00:00:00+00:00"))
    store.events.insert(bucket_id, [
        Event(start, end - start, {"url": f"https://example.org/{i}", "title": "tab",
                                   "audible": audible, "incognito": False})
        for i, (start, end, audible) in enumerate(tabs)])


def named_windows(store: Datastore, bucket_id: str, *spans: tuple[int, int, str]) -> None:
    store.events.insert(bucket_id, [Event(start, end - start, {"app": app, "title": "t"})
                                    for start, end, app in spans])


def test_a_tab_playing_sound_in_the_focused_browser_counts_as_active(store: Datastore) -> None:
    """A video watched without touching anything: the dashboard counts it, so does this.

    AFK from 1 min on. Firefox is focused 1-3 min and plays sound 1-2 min; a Chrome
    tab plays sound 3-4 min, but the focused window then is a terminal, and Firefox's
    silent tab 2-3 min counts nothing either.
    """
    win, afk = watcher_buckets(store, "desk")
    named_windows(store, win, (T0, T0 + MIN, "code"), (T0 + MIN, T0 + 3 * MIN, "Firefox"),
                  (T0 + 3 * MIN, T0 + 4 * MIN, "Alacritty"))
    afk_events(store, afk, (T0, T0 + MIN, "not-afk"), (T0 + MIN, T0 + 4 * MIN, "afk"))
    web_bucket(store, "aw-watcher-web-firefox_desk", (T0 + MIN, T0 + 2 * MIN, True),
               (T0 + 2 * MIN, T0 + 3 * MIN, False))
    web_bucket(store, "aw-watcher-web-chrome_desk", (T0 + 3 * MIN, T0 + 4 * MIN, True))
    assert combined_activity(store, "desk", *SPAN).combined_us == 2 * MIN


def test_an_imported_window_bucket_beside_the_watchers_own_is_not_counted(
        store: Datastore) -> None:
    """Of each kind the watcher's own bucket, as the dashboard picks; an import (another
    tool's history of the same hours) would otherwise add its own hours."""
    win, afk = watcher_buckets(store, "desk")
    window_events(store, win, (T0, T0 + MIN))
    afk_events(store, afk, (T0, T0 + 10 * MIN, "not-afk"))
    store.buckets.create(Bucket("imported-window", "currentwindow", "import", "desk",
                                "2023-01-01T00:00:00+00:00"))
    window_events(store, "imported-window", (T0 + 5 * MIN, T0 + 8 * MIN))
    assert combined_activity(store, "desk", *SPAN).combined_us == MIN


def test_without_the_watchers_own_bucket_the_first_of_the_type_counts(
        store: Datastore) -> None:
    for name in ("first-import", "second-import"):
        store.buckets.create(Bucket(name, "currentwindow", "import", "desk",
                                    "2023-01-01T00:00:00+00:00"))
    window_events(store, "first-import", (T0, T0 + MIN))
    window_events(store, "second-import", (T0 + 5 * MIN, T0 + 8 * MIN))
    assert combined_activity(store, "desk", *SPAN).combined_us == MIN


def test_flood_of_spans_fills_short_gaps_by_key() -> None:
    same = flooded([(10, 20, "a"), (0, 8, "a"), (23, 30, "a")], pulsetime_us=3)
    assert same == [(0, 10, "a"), (10, 23, "a"), (23, 30, "a")]
    assert flooded([(0, 10, "a"), (13, 20, "b")], pulsetime_us=5) == [
        (0, 12, "a"), (12, 20, "b")]  # 1.5 rounds to even: 2
    assert flooded([(0, 10, "a"), (20, 30, "a")], pulsetime_us=5) == [
        (0, 10, "a"), (20, 30, "a")]  # a gap longer than pulsetime stays


def test_interval_helpers() -> None:
    assert union([(5, 9), (1, 3), (2, 4), (9, 10), (7, 7)]) == [(1, 4), (5, 10)]
    assert intersect([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]
    assert intersect([(0, 5)], [(5, 9)]) == []
