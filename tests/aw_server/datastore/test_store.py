"""The datastore against a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aw_server.datastore.database import DatabaseCorrupt
from aw_server.datastore.store import Datastore
from aw_server.errors import BucketExists, NoSuchBucket, NoSuchEvent
from aw_server.models import Bucket, Event

S = 1_000_000
T0 = 1_700_000_000 * S


def bucket(bucket_id: str = "b") -> Bucket:
    return Bucket(bucket_id, "test", "tests", "host", "2024-01-01T00:00:00+00:00")


@pytest.fixture
def filled(store: Datastore) -> Datastore:
    store.buckets.create(bucket())
    return store


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


def test_heartbeat_cache_is_dropped_by_insert_and_delete(filled: Datastore) -> None:
    filled.events.heartbeat("b", Event(T0, 0, {"x": 1}), 5 * S)
    [later] = filled.events.insert("b", [Event(T0 + 10 * S, S, {"x": 1})])
    merged = filled.events.heartbeat("b", Event(T0 + 12 * S, 0, {"x": 1}), 5 * S)
    assert merged.id == later.id and merged.duration_us == 2 * S
    assert later.id is not None
    filled.events.delete("b", later.id)
    again = filled.events.heartbeat("b", Event(T0 + 2 * S, 0, {"x": 1}), 5 * S)
    assert again.duration_us == 2 * S  # merged into the first event, the newest left


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


def test_creating_an_existing_bucket_raises(filled: Datastore) -> None:
    with pytest.raises(BucketExists):
        filled.buckets.create(bucket())


# -- change tracking (the sync foundation) ---------------------------------------------
def _rows(store: Datastore, sql: str) -> list[tuple[object, ...]]:
    return list(store.db.conn().execute(sql))


def test_every_mutation_takes_a_new_seq(filled: Datastore) -> None:
    seq0 = filled.db.current_seq
    [e] = filled.events.insert("b", [Event(T0, S, {"a": 1})])
    assert filled.db.current_seq == seq0 + 1
    filled.events.heartbeat("b", Event(T0 + 2 * S, 0, {"a": 1}), 5 * S)
    assert filled.db.current_seq == seq0 + 2
    ((seq,),) = _rows(filled, f"SELECT seq FROM event WHERE id = {e.id}")
    assert seq == seq0 + 2  # the merge re-stamped the row, one entry in the log
    assert e.id is not None
    filled.events.delete("b", e.id)
    assert _rows(filled, "SELECT origin_id, origin_bucket_id, seq FROM tombstone") == [
        (e.id, "b", seq0 + 3)
    ]


def test_own_rows_carry_origin_identity(filled: Datastore) -> None:
    [e] = filled.events.insert("b", [Event(T0, S, {})])
    [(origin, origin_id)] = _rows(filled, "SELECT origin, origin_id FROM event")
    assert origin == filled.db.self_origin and origin_id == e.id


def test_ids_are_never_reused_after_deleting_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Datastore(path)
    store.buckets.create(bucket())
    [e] = store.events.insert("b", [Event(T0, S, {})])
    assert e.id is not None
    store.events.delete("b", e.id)
    store.close()
    reopened = Datastore(path)
    [again] = reopened.events.insert("b", [Event(T0, S, {})])
    assert again.id is not None and again.id > e.id
    reopened.close()


def test_seq_continues_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Datastore(path)
    store.buckets.create(bucket())
    store.events.insert("b", [Event(T0 + i, 1, {}) for i in range(5)])
    high = store.db.current_seq
    store.close()
    reopened = Datastore(path)
    assert reopened.db.current_seq == high
    reopened.close()


def test_deleted_bucket_leaves_a_tombstone_row_and_can_be_recreated(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0, S, {})])
    filled.buckets.delete("b")
    assert _rows(filled, "SELECT deleted FROM bucket WHERE id = 'b'") == [(1,)]
    assert _rows(filled, "SELECT count(*) FROM event") == [(0,)]
    filled.buckets.create(bucket())
    assert filled.events.count("b") == 0


def test_buckets_are_listed_in_creation_order_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Datastore(path)
    for bucket_id in ("window_laptop", "afk", "window_desktop"):
        store.buckets.create(bucket(bucket_id))
    assert store.buckets.ids() == ["window_laptop", "afk", "window_desktop"]
    store.close()
    reopened = Datastore(path)
    assert [b.id for b in reopened.buckets.all()] == ["window_laptop", "afk", "window_desktop"]
    assert [b.id for b in reopened.source.buckets()] == reopened.buckets.ids()
    reopened.close()


def test_a_recreated_bucket_is_listed_last_as_in_activitywatch(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Datastore(path)
    for bucket_id in ("a", "b", "c"):
        store.buckets.create(bucket(bucket_id))
    store.buckets.delete("a")
    store.buckets.create(bucket("a"))
    assert store.buckets.ids() == ["b", "c", "a"]
    store.buckets.create(bucket("d"))
    store.close()
    reopened = Datastore(path)
    assert [b.id for b in reopened.buckets.all()] == ["b", "c", "a", "d"]
    reopened.close()


def test_change_marker_moves_on_every_write(filled: Datastore) -> None:
    m0 = filled.buckets.change_marker("b")
    filled.events.insert("b", [Event(T0, S, {})])
    m1 = filled.buckets.change_marker("b")
    filled.events.heartbeat("b", Event(T0 + 2 * S, 0, {}), S)
    m2 = filled.buckets.change_marker("b")
    assert m0 < m1 < m2


# -- settings --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [False, 0, "", None, [], {"nested": [1, "ü"]}, 1.5])
def test_settings_store_every_json_value(store: Datastore, value: object) -> None:
    store.settings.set("k", value)
    assert store.settings.get("k") == value
    assert store.settings.all() == {"k": value}


def test_lone_surrogates_in_data_survive_storage(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0, S, {"title": "bad \ud800 text"})])
    assert filled.events.read("b")[0].data == {"title": "bad \ud800 text"}


# -- failure modes ---------------------------------------------------------------------
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(DatabaseCorrupt, match="left untouched"):
        Datastore(path)
    assert path.read_bytes() == garbage


def test_failed_transaction_rolls_back_caches(filled: Datastore) -> None:
    filled.events.heartbeat("b", Event(T0, 0, {"a": 1}), 5 * S)
    seq = filled.db.current_seq
    with pytest.raises(sqlite3.IntegrityError), filled.cache.write() as conn:
        filled.db.next_seq()
        conn.execute("INSERT INTO meta (key, value) VALUES (NULL, NULL)")
    assert filled.db.current_seq == seq
    merged = filled.events.heartbeat("b", Event(T0 + S, 0, {"a": 1}), 5 * S)
    assert merged.duration_us == S


def test_event_grown_by_heartbeats_is_found_by_a_late_range_read(filled: Datastore) -> None:
    for minute in range(0, 181):  # one heartbeat a minute for three hours
        filled.events.heartbeat("b", Event(T0 + minute * 60 * S, 0, {"x": 1}), 61 * S)
    filled.events.insert("b", [Event(T0 + i * S, S, {"other": i}) for i in range(0, 100, 10)])
    late = filled.events.read("b", start_us=T0 + 170 * 60 * S, end_us=T0 + 175 * 60 * S)
    assert [(e.data, e.duration_us) for e in late] == [({"x": 1}, 5 * 60 * S)]
