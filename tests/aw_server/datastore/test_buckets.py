"""BucketStore: creation, deletion, order and change markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from aw_server.datastore.store import Datastore
from aw_server.errors import BucketExists
from aw_server.models import Event
from tests.aw_server.datastore.helpers import T0, S, bucket, rows


def test_creating_an_existing_bucket_raises(filled: Datastore) -> None:
    with pytest.raises(BucketExists):
        filled.buckets.create(bucket())


def test_deleted_bucket_leaves_a_tombstone_row_and_can_be_recreated(filled: Datastore) -> None:
    filled.events.insert("b", [Event(T0, S, {})])
    filled.buckets.delete("b")
    assert rows(filled, "SELECT deleted FROM bucket WHERE id = 'b'") == [(1,)]
    assert rows(filled, "SELECT count(*) FROM event") == [(0,)]
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
