"""A datastore with one empty bucket, for the tests of its stores."""

from __future__ import annotations

import pytest

from aw_server.datastore.store import Datastore
from tests.aw_server.datastore.helpers import bucket


@pytest.fixture
def filled(store: Datastore) -> Datastore:
    store.buckets.create(bucket())
    return store
