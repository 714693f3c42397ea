"""Database: the change sequence and a corrupt file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aw_server.datastore.database import DatabaseCorrupt
from aw_server.datastore.store import Datastore
from aw_server.models import Event
from tests.aw_server.datastore.helpers import T0, bucket


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


# -- failure modes ---------------------------------------------------------------------
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(DatabaseCorrupt, match="left untouched"):
        Datastore(path)
    assert path.read_bytes() == garbage
