"""aw-webui's desktop summary (its `fullDesktopQuery` without the browser and stopwatch
parts), one statement per entry as the web UI sends it: the program the query tests and
the query benchmarks run. `tests/aw_server/query/test_http_end_to_end.py` keeps its own
verbatim copy of the web UI's text, spacing and browser lines included."""

from __future__ import annotations


def desktop_summary(window: str, afk: str, classes: str, *, flood: bool = True) -> list[str]:
    """`window` and `afk` are query expressions naming the buckets (a quoted id or
    `find_bucket("...")`); `classes` is the category rules as JSON text."""
    def read(bucket: str) -> str:
        return f"flood(query_bucket({bucket}))" if flood else f"query_bucket({bucket})"

    return [
        f"events = {read(window)};",
        f"not_afk = {read(afk)};",
        'not_afk = filter_keyvals(not_afk, "status", ["not-afk"]);',
        "events = filter_period_intersect(events, not_afk);",
        f"events = categorize(events, {classes});",
        'title_events = sort_by_duration(merge_events_by_keys(events, ["app", "title"]));',
        'app_events = sort_by_duration(merge_events_by_keys(title_events, ["app"]));',
        'cat_events = sort_by_duration(merge_events_by_keys(events, ["$category"]));',
        "app_events = limit_events(app_events, 100);",
        "title_events = limit_events(title_events, 100);",
        "duration = sum_durations(events);",
        'RETURN = {"window": {"app_events": app_events, "title_events": title_events, '
        '"cat_events": cat_events, "active_events": not_afk, "duration": duration}};',
    ]
