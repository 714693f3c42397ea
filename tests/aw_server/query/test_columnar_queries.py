"""Whole programs give the same results from a real Datastore (columnar reads, table
transforms) as from a MemorySource holding the same events (lists of Event)."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from aw_server.datastore import columns
from aw_server.datastore.store import Datastore
from aw_server.errors import QueryTooExpensive
from aw_server.models import US_PER_S, Bucket, Event, format_us
from aw_server.query import QueryLimits, run_query
from tests.aw_server.query.memory_source import MemorySource
from tests.support.queries import desktop_summary

T0 = 1_710_028_740 * US_PER_S
WINDOW = "aw-watcher-window_laptop"
AFK = "aw-watcher-afk_laptop"
WEB = "aw-watcher-web-firefox"
RULES = (
    '[[["Work"], {"type": "regex", "regex": "GitHub|code"}],'
    ' [["Work", "Docs"], {"type": "regex", "regex": "^main\\\\.py$", "select_keys": ["title"]}],'
    ' [["Media"], {"type": "regex", "regex": "youtube|ÉTÉ", "ignore_case": true}]]'
)
TITLES = ["GitHub - PR", "main.py", "YouTube", "été ✓", "Inbox (3)", "Stack Overflow"]


def watcher_events(rng: random.Random, count: int) -> list[Event]:
    events, cursor = [], T0
    for _ in range(count):
        cursor += rng.choice([0, 0, rng.randint(1, 3 * US_PER_S), 20 * US_PER_S])
        duration = rng.randint(0, 40 * US_PER_S)
        data: dict[str, Any] = {"app": rng.choice(["firefox", "code", "Slack"]),
                                "title": rng.choice(TITLES)}
        if rng.random() < 0.05:
            data["extra"] = [1, {"nested": "é"}]
        events.append(Event(cursor, duration, data))
        cursor += duration
    return events


def afk_events(rng: random.Random, until: int) -> list[Event]:
    events, cursor = [], T0 - 60 * US_PER_S
    while cursor < until:
        length = rng.randint(30, 900) * US_PER_S
        events.append(Event(cursor, length, {"status": rng.choice(["afk", "not-afk"])}))
        cursor += length
    return events


def web_events(rng: random.Random) -> list[Event]:
    return [Event(T0 + i * 7 * US_PER_S, 5 * US_PER_S,
                  {"url": rng.choice(["https://github.com/a?b=1#c", "http://x.org/"]),
                   "title": rng.choice(TITLES)})
            for i in range(200)]


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Datastore, MemorySource]:
    """The same buckets and events (ids included) in a Datastore file and in memory."""
    rng = random.Random(7)
    window = watcher_events(rng, 3000)
    content = {WINDOW: window, AFK: afk_events(rng, window[-1].end_us), WEB: web_events(rng)}
    store = Datastore(tmp_path / "db.sqlite")
    memory = MemorySource()
    for bucket_id, events in content.items():
        store.buckets.create(Bucket(bucket_id, "test", "test", "laptop", format_us(T0)))
        store.events.insert(bucket_id, events)
        memory.add_bucket(bucket_id, hostname="laptop")
        memory.insert(bucket_id, store.events.read(bucket_id))
    yield store, memory
    store.close()


def period(start_s: float, end_s: float) -> str:
    return f"{format_us(T0 + round(start_s * US_PER_S))}/{format_us(T0 + round(end_s * US_PER_S))}"


PROGRAMS = {
    "desktop summary": desktop_summary(f'"{WINDOW}"', f'"{AFK}"', RULES),
    "summary without flood": desktop_summary(f'"{WINDOW}"', f'"{AFK}"', RULES, flood=False),
    "raw bucket with ids": [f'RETURN = query_bucket("{WINDOW}");'],
    "tables through list functions": [
        f'a = flood(query_bucket("{WINDOW}"));',
        f'b = query_bucket("{AFK}");',
        "c = concat(limit_events(a, 5), limit_events(b, -3), [1, 2]);",
        "d = limit_events(sort_by_timestamp(a), 7) + limit_events(sort_by_duration(b), 2);",
        'e = union_no_overlap(filter_keyvals(b, "status", ["afk"]), a);',
        "f = period_union(a, b);",
        'g = chunk_events_by_key(limit_events(a, 50), "app");',
        "RETURN = [c, d, limit_events(e, 20), limit_events(f, 20), g, a == a, "
        "contains(limit_events(b, 3), 1), sum_durations(a), sum_durations(f)];",
    ],
    "filters, tags and merges": [
        f'e = query_bucket("{WINDOW}");',
        'x = exclude_keyvals(e, "app", ["Slack"]);',
        'r = filter_keyvals_regex(x, "title", "^(GitHub|main)");',
        't = tag(r, [["code", {"type": "regex", "regex": "code"}], '
        '["web", {"type": "regex", "regex": "fire", "select_keys": ["app"]}]]);',
        'm = merge_events_by_keys(t, ["$tags"]);',
        "n = merge_events_by_keys(t, []);",
        'RETURN = [m, limit_events(n, 10), merge_events_by_keys(e, ["extra"]), '
        'sum_durations(filter_keyvals(e, "extra", [[1, {"nested": "é"}]]))];',
    ],
    "browser events": [
        f'w = split_url_events(query_bucket("{WEB}"));',
        'RETURN = merge_events_by_keys(simplify_window_titles(w, "title"), ["$domain"]);',
    ],
}


@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize("periods", [[period(-100, 40_000)], [period(600, 3_600), period(0, 10)]])
def test_datastore_and_memory_source_give_the_same_results(
    sources: tuple[Datastore, MemorySource], name: str, periods: list[str]
) -> None:
    store, memory = sources
    expected = run_query(PROGRAMS[name], periods, memory)
    assert run_query(PROGRAMS[name], periods, store.source) == expected
    assert expected != [[]]  # the programs do read something


def test_small_slices_read_the_same_rows(
    sources: tuple[Datastore, MemorySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, memory = sources
    monkeypatch.setattr(columns, "SLICE_ROWS", 97)

    def no_fallback(*args: Any) -> Any:
        raise AssertionError("nothing was written: the two readers must agree")

    monkeypatch.setattr(columns, "_read_alone", no_fallback)
    program = PROGRAMS["raw bucket with ids"]
    # Starting a day early: the first slices are empty.
    for span in [period(0, 30_000), period(-86_400, 30_000)]:
        assert run_query(program, [span], store.source) == run_query(program, [span], memory)


def test_a_write_between_the_two_snapshots_falls_back_to_one_consistent_read(
    sources: tuple[Datastore, MemorySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real write lands between the two threads' snapshots: the main thread's has begun,
    # the helper's not yet; a third thread inserts an event just before the helper's.
    store, _ = sources
    monkeypatch.setattr(columns, "SLICE_ROWS", 500)
    real_began = columns._SnapshotPair.helper_began
    real_read_alone = columns._read_alone
    fallbacks = []

    def late(pair: Any, conn: Any) -> None:
        if not fallbacks:
            writer = threading.Thread(
                target=store.events.insert, args=(WINDOW, [Event(T0 + 5, 1, {"app": "late"})]))
            writer.start()
            writer.join(timeout=30)
            fallbacks.append("written between")
        real_began(pair, conn)

    def counting(*args: Any) -> Any:
        fallbacks.append("read alone")
        return real_read_alone(*args)

    monkeypatch.setattr(columns._SnapshotPair, "helper_began", late)
    monkeypatch.setattr(columns, "_read_alone", counting)
    table = store.source.event_table(WINDOW, T0, T0 + 10**6 * US_PER_S)
    assert fallbacks == ["written between", "read alone"]
    assert table.to_events() == store.source.events(WINDOW, T0, T0 + 10**6 * US_PER_S)


def test_snapshots_proven_the_same_need_no_fingerprint_scan(
    sources: tuple[Datastore, MemorySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With no write during the read, the data versions prove both snapshots equal: the
    # whole-range fingerprint (here made to fail) is never read, and no fallback runs.
    store, _ = sources
    monkeypatch.setattr(columns, "SLICE_ROWS", 500)
    monkeypatch.setattr(columns, "_FINGERPRINT", "SELECT no_such_column FROM event")
    fallbacks = []
    real_read_alone = columns._read_alone

    def counting(*args: Any) -> Any:
        fallbacks.append("read alone")
        return real_read_alone(*args)

    monkeypatch.setattr(columns, "_read_alone", counting)
    table = store.source.event_table(WINDOW, T0, T0 + 10**6 * US_PER_S)
    assert fallbacks == []
    assert table.to_events() == store.source.events(WINDOW, T0, T0 + 10**6 * US_PER_S)


def test_reads_racing_writes_always_see_a_whole_state(
    sources: tuple[Datastore, MemorySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = sources
    monkeypatch.setattr(columns, "SLICE_ROWS", 300)
    stop = threading.Event()

    def write() -> None:
        for i in range(400):
            if stop.is_set():
                return
            store.events.insert(WINDOW, [Event(T0 + i * US_PER_S, 10, {"app": f"w{i}"})])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(20):
            events = store.source.event_table(WINDOW, T0, T0 + 10**6 * US_PER_S).to_events()
            ids = [e.id for e in events]
            racing = [e for e in events if e.data.get("app", "").startswith("w")]
            # Each racing row has its own span and data (nothing paired across rows), the
            # ones seen are a prefix of those made (by id), and no row is doubled.
            assert all(e.timestamp_us == T0 + int(e.data["app"][1:]) * US_PER_S
                       and e.duration_us == 10 for e in racing)
            written = sorted(e.id for e in racing if e.id is not None)
            assert len(set(ids)) == len(ids)
            if written:
                assert len(written) == written[-1] - written[0] + 1
    finally:
        stop.set()
        writer.join()


def test_an_empty_range_and_an_unknown_bucket(sources: tuple[Datastore, MemorySource]) -> None:
    store, _ = sources
    program = [f'RETURN = flood(query_bucket("{WINDOW}"));']
    assert run_query(program, [period(-9_000, -8_000)], store.source) == [[]]
    with pytest.raises(Exception, match="no bucket named 'nope'"):
        run_query(['RETURN = query_bucket("nope");'], [period(0, 1)], store.source)


def test_columnar_transforms_respect_the_time_budget(
    sources: tuple[Datastore, MemorySource],
) -> None:
    store, _ = sources
    program = [f'e = query_bucket("{WINDOW}");'] + [
        f"e{i} = flood(e, {i});" for i in range(10_000)] + ["RETURN = 1;"]
    with pytest.raises(QueryTooExpensive):
        run_query(program, [period(0, 40_000)], store.source, limits=QueryLimits(max_seconds=0.3))


def test_the_datastore_path_runs_the_columnar_transforms(
    sources: tuple[Datastore, MemorySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aw_server.transform import columnar

    store, _ = sources
    called: list[str] = []
    for name in ("flood", "filter_period_intersect", "label", "merge_events_by_keys"):
        real = getattr(columnar, name)
        monkeypatch.setattr(columnar, name,
                            lambda *a, _real=real, _name=name, **k: called.append(_name)
                            or _real(*a, **k))
    run_query(PROGRAMS["desktop summary"], [period(0, 40_000)], store.source)
    assert sorted(set(called)) == ["filter_period_intersect", "flood", "label",
                                   "merge_events_by_keys"]


def test_a_database_without_the_range_index_is_still_read(
    sources: tuple[Datastore, MemorySource],
) -> None:
    store, memory = sources
    with store.db.write() as conn:
        conn.execute("DROP INDEX event_range")
    program = PROGRAMS["raw bucket with ids"]
    assert run_query(program, [period(0, 30_000)], store.source) == run_query(
        program, [period(0, 30_000)], memory)
