"""EventStore against a real SQLite file: heartbeats, range reads, counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from aw_server.datastore.store import Datastore
from aw_server.errors import NoSuchBucket, NoSuchEvent
from aw_server.models import Event
from tests.aw_server.datastore.helpers import T0, S, bucket

# -- heartbeat merge rule --------------------------------------------------------------
# (last start s, last duration s, beat offset s, beat duration s, same data, pulsetime s)
#   -> expected events after the beat, as (start offset s, duration s)
MERGE_TABLE = [
    pytest.param(0, 5, 5, 0, True, 1, [(0, 5)], id="beat-at-end-same-data-merges"),
    pytest.param(0, 5, 6, 0, True, 1, [(0, 6)], id="inside-pulsetime-extends"),
    pytest.param(0, 5, 6, 2, True, 1, [(0, 8)], id="beat-duration-counts"),
    pytest.param(0, 5, 7, 0, True, 1, [(0, 5), (7, 0)], id="outside-pulsetime-inserts"),
    pytest.param(0, 5, 3, 0, True, 0, [(0, 5)], id="inside-event-changes-nothing"),
    pytest.param(0, 5, 5, 0, False, 10, [(0, 5), (5, 0)], id="different-data-inserts"),
    pytest.param(10, 5, 9, 0, True, 10, [(10, 5), (9, 0)], id="out-of-order-beat-inserts"),
    pytest.param(0, 0, 0, 0, True, 0, [(0, 0)], id="zero-durations-same-moment-merge"),
    pytest.param(0, 0, 1, 0, True, 0, [(0, 0), (1, 0)], id="zero-pulsetime-gap-inserts"),
]


@pytest.mark.parametrize(("start", "dur", "offset", "beat_dur", "same", "pulse", "expected"),
                         MERGE_TABLE)
def test_heartbeat_merge_rule(filled: Datastore, start: int, dur: int, offset: int,
                              beat_dur: int, same: bool, pulse: int,
                              expected: list[tuple[int, int]]) -> None:
    filled.events.heartbeat("b", Event(T0 + start * S, dur * S, {"a": 1}), 1000 * S)
    if dur:  # make the first event exactly `dur` long regardless of the merge
        events = filled.events.read("b")
        assert [(e.timestamp_us - T0, e.duration_us) for e in events] == [(start * S, dur * S)]
    data = {"a": 1} if same else {"a": 2}
    filled.events.heartbeat("b", Event(T0 + offset * S, beat_dur * S, data), pulse * S)
    got = sorted((e.timestamp_us - T0, e.duration_us) for e in filled.events.read("b"))
    assert got == sorted((s * S, d * S) for s, d in expected)


def test_heartbeats_merge_into_one_row_and_return_its_id(filled: Datastore) -> None:
    first = filled.events.heartbeat("b", Event(T0, 0, {"app": "x"}), 2 * S)
    for i in range(1, 50):
        merged = filled.events.heartbeat("b", Event(T0 + i * S, 0, {"app": "x"}), 2 * S)
        assert merged.id == first.id
    assert filled.events.count("b") == 1
    assert filled.events.read("b")[0].duration_us == 49 * S


def test_heartbeat_after_reopen_merges_into_newest_stored_event(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Datastore(path)
    store.buckets.create(bucket())
    store.events.heartbeat("b", Event(T0, 0, {"x": 1}), 5 * S)
    store.close()
    reopened = Datastore(path)
    merged = reopened.events.heartbeat("b", Event(T0 + 3 * S, 0, {"x": 1}), 5 * S)
    assert merged.duration_us == 3 * S
    assert reopened.events.count("b") == 1
    reopened.close()


# -- range reads -----------------------------------------------------------------------
def test_range_read_clips_to_bounds_and_is_newest_first(filled: Datastore) -> None:
    filled.events.insert("b", [
        Event(T0, 10 * S, {"n": 1}),
        Event(T0 + 20 * S, 10 * S, {"n": 2}),
        Event(T0 + 40 * S, 10 * S, {"n": 3}),
    ])
    got = filled.events.read("b", start_us=T0 + 5 * S, end_us=T0 + 25 * S)
    assert [(e.data["n"], e.timestamp_us - T0, e.duration_us) for e in got] == [
        (2, 20 * S, 5 * S),
        (1, 5 * S, 5 * S),
    ]


def test_range_read_finds_a_long_event_that_started_long_before(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0, 3 * 86_400 * S, {"long": True})])
    filled.events.insert("b", [Event(T0 + i * S, S, {"i": i}) for i in range(100)])
    got = filled.events.read("b", start_us=T0 + 2 * 86_400 * S, end_us=T0 + 2 * 86_400 * S + S)
    assert [e.data for e in got] == [{"long": True}]
    assert got[0].duration_us == S


def test_limit_and_count(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0 + i * S, S, {"i": i}) for i in range(10)])
    assert [e.data["i"] for e in filled.events.read("b", limit=3)] == [9, 8, 7]
    assert len(filled.events.read("b", limit=-1)) == 10
    assert filled.events.count("b") == 10
    # Bounds are inclusive, as in aw-server: events touching the range count.
    assert filled.events.count("b", T0 + 5 * S, T0 + 6 * S) == 3
    assert filled.events.count("b", T0 + 5 * S + 1, T0 + 6 * S - 1) == 1


def test_unknown_bucket_and_event(filled: Datastore) -> None:
    with pytest.raises(NoSuchBucket):
        filled.events.read("nope")
    with pytest.raises(NoSuchEvent):
        filled.events.get("b", 12345)
    assert filled.events.delete("b", 12345) is False


def test_lone_surrogates_in_data_survive_storage(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0, S, {"title": "bad \ud800 text"})])
    assert filled.events.read("b")[0].data == {"title": "bad \ud800 text"}


def test_event_grown_by_heartbeats_is_found_by_a_late_range_read(filled: Datastore) -> None:
    for minute in range(0, 181):  # one heartbeat a minute for three hours
        filled.events.heartbeat("b", Event(T0 + minute * 60 * S, 0, {"x": 1}), 61 * S)
    filled.events.insert("b", [Event(T0 + i * S, S, {"other": i}) for i in range(0, 100, 10)])
    late = filled.events.read("b", start_us=T0 + 170 * 60 * S, end_us=T0 + 175 * 60 * S)
    assert [(e.data, e.duration_us) for e in late] == [({"x": 1}, 5 * 60 * S)]


def test_count_equals_the_number_of_events_a_range_read_returns(filled: Datastore) -> None:
    # Short events, long ones reaching back over range starts, and zero-length ones.
    events = [Event(T0 + i * 10 * S, (i % 4) * 7 * S + (50 * S if i % 9 == 0 else 0),
                    {"i": i}) for i in range(60)]
    filled.events.insert("b", events)
    for lo, hi in [(0, 600), (5, 25), (33, 34), (100, 100), (-50, 5), (590, 900), (40, 30)]:
        start, end = T0 + lo * S, T0 + hi * S
        expected = sum(1 for e in events
                       if start - 10**12 <= e.timestamp_us <= end and e.end_us >= start)
        assert filled.events.count("b", start, end) == expected, (lo, hi)
        if lo <= hi:
            assert len(filled.events.read("b", start_us=start, end_us=end)) == expected
