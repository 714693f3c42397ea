"""Event data stored once per distinct text, keyed by the exact text."""

from __future__ import annotations

import json
import re

import pytest

from aw_server.datastore import interning
from aw_server.datastore.interning import DataInterner, find_or_add
from aw_server.datastore.store import Datastore
from aw_server.errors import EventTooLarge
from aw_server.models import Event
from tests.aw_server.datastore.helpers import T0, S, bucket, rows


def _data_ids(store: Datastore) -> list[int]:
    return [int(r[0]) for r in rows(store, "SELECT data_id FROM event ORDER BY id")]


def test_equal_data_share_one_stored_text(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0 + i * S, S, {"app": "a", "title": "t"})
                               for i in range(50)])
    filled.events.insert("b", [Event(T0 + 60 * S, S, {"app": "a", "title": "t"})])
    assert len(set(_data_ids(filled))) == 1
    assert rows(filled, "SELECT count(*) FROM event_data") == [(1,)]


@pytest.mark.parametrize("texts", [
    ['{"a":1}', '{"a":1.0}'],
    ['{"a":1,"b":2}', '{"b":2,"a":1}'],
    ['{"s":"é"}', '{"s":"\\u00e9"}'],
    ['{"a":1}', '{"a": 1}'],
])
def test_texts_that_read_back_differently_never_share_an_id(filled: Datastore,
                                                            texts: list[str]) -> None:
    with filled.db.write() as conn:
        ids = [find_or_add(conn, text) for text in texts]
        again = [find_or_add(conn, text) for text in texts]
    assert ids[0] != ids[1]
    assert again == ids
    stored = dict(rows(filled, "SELECT id, text FROM event_data"))
    assert [stored[i] for i in ids] == texts


def test_api_writes_of_equal_dicts_in_other_spellings_read_back_as_written(
        filled: Datastore) -> None:
    datas = [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1.0, "b": 2}, {"a": 1, "b": 2}]
    filled.events.insert("b", [Event(T0 + i * S, S, d) for i, d in enumerate(datas)])
    texts = [json.loads(t)["data"] for t in filled.events.iter_json("b")][::-1]
    assert [json.dumps(t) for t in texts] == [json.dumps(d) for d in datas]
    assert len(set(_data_ids(filled))) == 3


def test_a_hash_collision_keeps_texts_apart(filled: Datastore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Every text gets the same hash: only the text comparison can tell them apart.
    monkeypatch.setattr(interning, "text_hash", lambda text: 7)
    with filled.db.write() as conn:
        first = find_or_add(conn, '{"x":1}')
        second = find_or_add(conn, '{"x":2}')
        assert find_or_add(conn, '{"x":1}') == first
        assert find_or_add(conn, '{"x":2}') == second
    assert first != second


def test_a_heartbeat_merge_keeps_the_data_id(filled: Datastore) -> None:
    a, b = {"app": "a"}, {"app": "b"}
    for i in range(5):
        filled.events.heartbeat("b", Event(T0 + i * S, 0, a), 2 * S)
    (merged,) = filled.events.read("b")
    assert merged.duration_us == 4 * S
    (first_id,) = _data_ids(filled)
    filled.events.heartbeat("b", Event(T0 + 5 * S, 0, b), 2 * S)
    filled.events.heartbeat("b", Event(T0 + 6 * S, 0, a), 2 * S)
    ids = _data_ids(filled)
    assert ids[0] == ids[2] == first_id != ids[1]
    assert rows(filled, "SELECT count(*) FROM event_data") == [(2,)]


def test_a_rolled_back_write_leaves_no_remembered_id_behind(store: Datastore) -> None:
    small = Datastore(store.db.path, max_event_bytes=1000)
    try:
        small.buckets.create(bucket())
        fresh = {"title": "seen first in a write that rolls back"}
        with pytest.raises(EventTooLarge):
            small.events.insert("b", [Event(T0, S, fresh), Event(T0 + S, S, {"x": "y" * 2000})])
        small.events.insert("b", [Event(T0 + 2 * S, S, fresh)])
        assert [e.data for e in small.events.read("b")] == [fresh]
    finally:
        small.close()


def test_many_texts_at_once_get_the_ids_one_at_a_time_would(filled: Datastore) -> None:
    # Fewer remembered texts than distinct ones in the batch: the memory is cleared on
    # the way, and every id must still be right.
    texts = [f'{{"t":{i % 7}}}' for i in range(30)]
    interner = DataInterner(remembered=3)
    with filled.db.write() as conn:
        find_or_add(conn, texts[2])  # one already stored
        ids = interner.ids_of(conn, texts)
        assert ids == [find_or_add(conn, text) for text in texts]
    assert len(set(ids)) == 7


def test_a_batch_that_fills_the_memory_still_answers_its_remembered_texts(
        filled: Datastore) -> None:
    interner = DataInterner(remembered=4)
    with filled.db.write() as conn:
        first = interner.ids_of(conn, ['{"a":1}', '{"b":1}', '{"c":1}'])
        second = interner.ids_of(conn, ['{"a":1}', '{"d":1}', '{"e":1}', '{"a":1}'])
        assert second[0] == second[3] == first[0]
        assert second == [find_or_add(conn, t)
                          for t in ['{"a":1}', '{"d":1}', '{"e":1}', '{"a":1}']]


def test_an_oversized_event_is_named_by_its_time(store: Datastore) -> None:
    small = Datastore(store.db.path, max_event_bytes=1000)
    try:
        small.buckets.create(bucket())
        big = Event(T0 + 7 * S, S, {"x": "y" * 2000})
        named = re.escape(f"the event at {big.timestamp.isoformat()} is")
        with pytest.raises(EventTooLarge, match=named):
            small.events.insert("b", [Event(T0, S, {"a": 1}), big])
    finally:
        small.close()


@pytest.mark.parametrize("value", [
    {"app": "a", "title": "t"}, {"s": "é\u2028☃"}, {"f": 1.0, "g": 1e300, "n": None},
    {"nan": float("nan"), "inf": float("-inf")}, {"l": [1, {"b": [True, False]}]},
    {"lone": "\ud800"}, {}, {"k": "\u0000\u001f\""},
])
def test_stored_text_is_what_json_dumps_gives(value: object) -> None:
    from aw_server.datastore.rows import dump_json

    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\ud800" in expected:  # a lone surrogate cannot be UTF-8: escaped instead
        expected = json.dumps(value, separators=(",", ":"))
    assert dump_json(value) == expected
