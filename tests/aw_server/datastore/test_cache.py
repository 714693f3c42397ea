"""BucketCache: the in-memory state stays true to what was committed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aw_server.datastore.store import Datastore
from aw_server.models import Event
from tests.aw_server.datastore.helpers import T0, S, bucket


def test_heartbeat_cache_is_dropped_by_insert_and_delete(filled: Datastore) -> None:
    filled.events.heartbeat("b", Event(T0, 0, {"x": 1}), 5 * S)
    [later] = filled.events.insert("b", [Event(T0 + 10 * S, S, {"x": 1})])
    merged = filled.events.heartbeat("b", Event(T0 + 12 * S, 0, {"x": 1}), 5 * S)
    assert merged.id == later.id and merged.duration_us == 2 * S
    assert later.id is not None
    filled.events.delete("b", later.id)
    again = filled.events.heartbeat("b", Event(T0 + 2 * S, 0, {"x": 1}), 5 * S)
    assert again.duration_us == 2 * S  # merged into the first event, the newest left


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


def test_failed_transaction_rolls_back_caches(filled: Datastore) -> None:
    filled.events.heartbeat("b", Event(T0, 0, {"a": 1}), 5 * S)
    seq = filled.db.current_seq
    with pytest.raises(sqlite3.IntegrityError), filled.cache.write() as conn:
        filled.db.next_seq()
        conn.execute("INSERT INTO meta (key, value) VALUES (NULL, NULL)")
    assert filled.db.current_seq == seq
    merged = filled.events.heartbeat("b", Event(T0 + S, 0, {"a": 1}), 5 * S)
    assert merged.duration_us == S
