"""Signed change logs in process (docs/sync.md §11): relays pass batches on with their
origin's proof, items too big or unusable cost only themselves, and a relay can hold back
but never change what it forwards."""

from __future__ import annotations

from pathlib import Path

from aw_server.datastore.interning import find_or_add
from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import short_device_id
from aw_server.models import Event
from aw_server.sync.local import LocalAccess
from aw_server.sync.protocol import Delta, Summary
from tests.aw_server.sync.helpers import T0, S, assert_converged, bucket, sync, views


def batches_of(store: Datastore, since: dict[str, int] | None = None) -> list[dict]:
    delta, _ = LocalAccess(store).pull(Summary(since or {}), max_items=2000)
    return delta.batches()


def test_every_batch_is_signed_and_a_relay_forwards_the_origins_proof(
        trio: list[Datastore]) -> None:
    a, b, c = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0 + i * S, S, {"i": i}) for i in range(5)])
    (own,) = batches_of(a)
    sync(b, a)
    relayed = [x for x in batches_of(b) if x["origin"] == a.db.log_id]
    assert [x["sig"] for x in relayed] == [own["sig"]]  # B passes on A's signature
    sync(c, b)
    assert_converged(trio)


def test_versions_a_relay_no_longer_holds_travel_as_entries_and_still_converge(
        trio: list[Datastore]) -> None:
    """B got A's first batch, then A's edit and delete: relaying the first batch to C,
    B sends the superseded versions as their entries (`held`)."""
    a, b, c = trio
    a.buckets.create(bucket("w"))
    first = a.events.insert("w", [Event(T0 + i * S, S, {"i": i}) for i in range(4)])
    sync(b, a)
    a.events.insert("w", [Event(T0, 2 * S, {"edited": True}, first[0].id)])
    assert first[1].id is not None
    a.events.delete("w", first[1].id)
    a.buckets.delete("w")
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0 + 9 * S, S, {"life": 2})])
    sync(b, a)
    held = next(x for x in batches_of(b) if x["origin"] == a.db.log_id)["held"]
    assert len(held) >= 4
    sync(c, b)
    assert_converged(trio)


def test_an_own_row_above_the_limit_is_skipped_with_a_record_not_a_stall(
        tmp_path: Path) -> None:
    """Written before the limit existed (here: by a store with a larger limit)."""
    path = tmp_path / "a.sqlite"
    roomy = Datastore(path, max_event_bytes=4 * 1024 * 1024)
    roomy.buckets.create(bucket("w"))
    roomy.events.insert("w", [Event(T0, S, {"i": 0}), Event(T0 + S, S, {"big": "x" * 200_000}),
                              Event(T0 + 2 * S, S, {"i": 2})])
    roomy.close()
    a, b = Datastore(path, max_event_bytes=100_000), Datastore(tmp_path / "b.sqlite")
    try:
        result = sync(b, a)
        assert result.skipped == 1
        mirrored = views(b)[a.db.log_id]["events"]
        assert sorted(e[3].get("i") for e in mirrored.values()) == [0, 2]
        (skipped,) = a.trust.skipped_items()
        assert skipped["own"] and skipped["bucket"] == "w" and skipped["size"] > 200_000
        assert "above the limit of 100000" in skipped["reason"]
        a.events.insert("w", [Event(T0 + 3 * S, S, {"i": 3})])
        sync(b, a)  # the log goes on past it
        assert len(views(b)[a.db.log_id]["events"]) == 3
    finally:
        a.close()
        b.close()


def test_a_receiver_with_a_lower_limit_skips_the_item_and_relays_its_entry(
        tmp_path: Path) -> None:
    a = Datastore(tmp_path / "a.sqlite")
    b = Datastore(tmp_path / "b.sqlite", max_event_bytes=10_000)
    c = Datastore(tmp_path / "c.sqlite")
    try:
        a.buckets.create(bucket("w"))
        a.events.insert("w", [Event(T0, S, {"big": "x" * 50_000}), Event(T0 + S, S, {"i": 1})])
        assert sync(b, a).skipped == 1
        (skipped,) = b.trust.skipped_items()
        assert not skipped["own"] and skipped["device_id"] == a.device_id
        sync(c, b)  # B passes A's batch on, the item it lacks as its entry: it verifies
        assert [e[3] for e in views(c)[a.db.log_id]["events"].values()] == [{"i": 1}]
        sync(c, a)  # and C, with room for it, never gets it later from A: already past
        assert len(views(c)[a.db.log_id]["events"]) == 1
    finally:
        for store in (a, b, c):
            store.close()


def test_an_item_with_unusable_values_costs_only_itself(trio: list[Datastore]) -> None:
    """Rows no API would write (a time past the year 9999, data that is not an object),
    written into the origin's file by other means: the rest of the batch applies."""
    a, b, _ = trio
    a.buckets.create(bucket("w"))
    good = a.events.insert("w", [Event(T0 + i * S, S, {"i": i}) for i in range(3)])
    conn = a.db.conn()
    conn.execute("UPDATE event SET start = 300000000000000000, end = 300000000000000001 "
                 "WHERE id = ?",
                 (good[0].id,))
    conn.execute("UPDATE event SET data_id = ? WHERE id = ?",
                 (find_or_add(conn, "[1,2]"), good[1].id))
    result = sync(b, a)
    assert result.skipped == 2
    assert [e[3] for e in views(b)[a.db.log_id]["events"].values()] == [{"i": 2}]
    reasons = sorted(s["reason"] for s in b.trust.skipped_items())
    assert reasons == ["event: its data is not a JSON object",
                       "event: its time lies outside the years 1 to 9999"]


def test_stored_texts_travel_byte_for_byte_through_relays(trio: list[Datastore]) -> None:
    """Data in any JSON spelling (another program wrote the file) is signed, relayed and
    stored exactly as its origin holds it: nothing is re-encoded on the way."""
    a, b, c = trio
    a.buckets.create(bucket("w"))
    (event,) = a.events.insert("w", [Event(T0, S, {"i": 1})])
    spelled = '{ "i" : 1.50, "s": "\\u00e9\u00e9" }'
    a.db.conn().execute("UPDATE event SET data_id = ? WHERE id = ?",
                        (find_or_add(a.db.conn(), spelled), event.id))
    sync(b, a)
    sync(c, b)
    for store in (b, c):
        (row,) = store.db.conn().execute(
            "SELECT d.text FROM event e JOIN event_data d ON d.id = e.data_id "
            "WHERE e.origin != ?", (store.db.self_origin,)).fetchall()
        assert row[0] == spelled


def test_an_event_before_its_bucket_waits_hidden_until_the_bucket_comes(
        trio: list[Datastore]) -> None:
    """A relay holds only the bucket's newest version, above the batch its events are
    in: the events wait in a hidden placeholder, shown once the bucket arrives."""
    a, b, c = trio
    a.buckets.create(bucket("w"))
    a.events.insert("w", [Event(T0, S, {"i": 0})])
    sync(b, a)
    a.buckets.update("w", {"data": {"renamed": True}})
    sync(b, a)
    relayed = [x for x in batches_of(b) if x["origin"] == a.db.log_id]
    first = relayed[0]
    assert first["buckets"] == [] and first["events"]  # the bucket's first version: held
    delta, _ = LocalAccess(b).pull(Summary({}), max_items=2000)
    LocalAccess(c).push(Delta(delta.origins, parsed=[first], sender=b.device_id,
                              sender_key=LocalAccess(b).signer.key))
    mirror = f"w-synced-from-{short_device_id(a.device_id)}"
    assert mirror not in c.buckets.ids()
    sync(c, b)
    assert c.buckets.get(mirror).data["renamed"] is True
    assert [e.data for e in c.events.read(mirror)] == [{"i": 0}]


def test_revoked_devices_new_data_is_refused_and_its_old_data_marked(
        trio: list[Datastore]) -> None:
    a, b, c = trio
    c.buckets.create(bucket("from-c"))
    c.events.insert("from-c", [Event(T0, S, {"old": True})])
    sync(b, c)
    sync(a, b)
    revocation = LocalAccess(a).signer.revoke(c.device_id, LocalAccess(c).signer.key, 1)
    a.trust.add_revocation(revocation)
    c.events.insert("from-c", [Event(T0 + S, S, {"old": False})])
    sync(a, b)  # B learns the revocation from A (signed, A's key pinned by then)
    result = sync(b, c)
    assert [(r["error"], r["by"]) for r in result.refused] == [("revoked", "local")]
    mirror = b.buckets.get(f"from-c-synced-from-{short_device_id(c.device_id)}")
    assert mirror.data["$aw.sync.revoked"]["by"] == a.device_id
    assert [e[3] for e in views(b)[c.db.log_id]["events"].values()] == [{"old": True}]
    assert c.db.log_id not in {x["origin"] for x in batches_of(b)}  # not relayed either
