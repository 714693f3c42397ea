"""Shared values for the datastore tests."""

from __future__ import annotations

from aw_server.datastore.store import Datastore
from aw_server.models import Bucket

S = 1_000_000
T0 = 1_700_000_000 * S


def bucket(bucket_id: str = "b") -> Bucket:
    return Bucket(bucket_id, "test", "tests", "host", "2024-01-01T00:00:00+00:00")


def rows(store: Datastore, sql: str) -> list[tuple[object, ...]]:
    return list(store.db.conn().execute(sql))
