"""The composed Datastore: every store leaves the same trail for sync."""

from __future__ import annotations

from aw_server.datastore.store import Datastore
from aw_server.models import Event
from tests.aw_server.datastore.helpers import T0, S, rows


# -- change tracking (the sync foundation) ---------------------------------------------
def test_every_mutation_takes_a_new_seq(filled: Datastore) -> None:
    seq0 = filled.db.current_seq
    [e] = filled.events.insert("b", [Event(T0, S, {"a": 1})])
    assert filled.db.current_seq == seq0 + 1
    filled.events.heartbeat("b", Event(T0 + 2 * S, 0, {"a": 1}), 5 * S)
    assert filled.db.current_seq == seq0 + 2
    ((seq,),) = rows(filled, f"SELECT seq FROM event WHERE id = {e.id}")
    assert seq == seq0 + 2  # the merge re-stamped the row, one entry in the log
    assert e.id is not None
    filled.events.delete("b", e.id)
    assert rows(filled, "SELECT origin_id, origin_bucket_id, seq FROM tombstone") == [
        (e.id, "b", seq0 + 3)
    ]


def test_own_rows_carry_origin_identity(filled: Datastore) -> None:
    [e] = filled.events.insert("b", [Event(T0, S, {})])
    [(origin, origin_id)] = rows(filled, "SELECT origin, coalesce(origin_id, id) FROM event")
    assert origin == filled.db.self_origin and origin_id == e.id
