"""A compromised paired device attacks the other devices' change logs (issue 20): three
real servers, A↔B, C↔B and A↔C. C crafts sealed pushes exactly as malware on C would,
with its own device id, pairing key and signing key read from its database, naming A's
log. Every attack is refused, in a sealed answer, before anything is written: every sync
table of the target hashes the same afterwards, A's log stays A's, and A's later data
still arrives everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aw_server.datastore.sync_items import SegmentHeader, b64
from aw_server.sync import signing
from tests.aw_server.sync.devices import Device, heartbeat, make_bucket, start_devices
from tests.aw_server.sync.fake_peer import FakePeer

T = "2024-05-01T10:00:{:02d}Z"


@dataclass
class Group:
    a: Device
    b: Device
    c: Device

    @property
    def hostile(self) -> FakePeer:
        """C, turned against B."""
        return FakePeer.impersonating(self.c, self.b)


def start_group(base: Path) -> Group:
    a, b, c = start_devices(base, "abc")
    try:
        a.pair_with(b)
        c.pair_with(b)
        a.pair_with(c)
        make_bucket(a, "edge")
        for i in range(4):
            heartbeat(a, "edge", T.format(i * 12), {"title": f"t{i}"}, pulsetime=5)
        make_bucket(c, "own-c")
        heartbeat(c, "own-c", T.format(0), {"c": 1})
        b.sync_with(a)
        c.sync_with(b)
        a.sync_with(c)
    except BaseException:
        for device in (a, b, c):
            device.stop()
        raise
    return Group(a, b, c)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    trio = start_group(tmp_path_factory.mktemp("adv"))
    yield trio
    for device in (trio.a, trio.b, trio.c):
        device.stop()


def a_log(group: Group) -> dict[str, Any]:
    """What C knows of A's log from syncing honestly: its id, key, certificate, and B's
    mark and oldest event of it."""
    log_id = group.a.own_log()
    with group.c.db() as conn:
        cert, created = conn.execute("SELECT cert, created FROM origin WHERE log_id = ?",
                                     (log_id,)).fetchone()
        key = conn.execute("SELECT key FROM sync_device WHERE device_id = ?",
                           (group.a.device_id,)).fetchone()[0]
    with group.b.db() as conn:
        hwm = conn.execute("SELECT h.hwm FROM sync_hwm h JOIN origin o ON o.id = h.origin "
                           "WHERE o.log_id = ?", (log_id,)).fetchone()[0]
        oid, b, start, end, seq = conn.execute(
            "SELECT e.origin_id, k.origin_bucket_id, e.start, e.end, e.seq FROM event e "
            "JOIN bucket k ON k.key = e.bucket JOIN origin o ON o.id = e.origin "
            "WHERE o.log_id = ? ORDER BY e.seq LIMIT 1", (log_id,)).fetchone()
    origin = {"device_id": group.a.device_id, "label": "", "hostname": "host-a",
              "created": created, "key": b64(bytes(key)), "cert": b64(bytes(cert))}
    return {"log_id": log_id, "origin": origin, "hwm": hwm, "key": bytes(key),
            "event": [oid, b, start, end - start, seq]}


def forged_batch(log_id: str, start: int, up_to: int, events: list[list[Any]],
                 sig: bytes = b"") -> dict[str, Any]:
    return {"origin": log_id, "from": start, "up_to": up_to, "buckets": [], "events": events,
            "tombstones": [], "held": [], "sig": b64(sig)}


def push(peer: FakePeer, origins: dict[str, Any], batches: list[dict[str, Any]]
         ) -> tuple[int, dict[str, Any]]:
    sealed = peer.seal("/sync/v1/push", {"origins": origins, "batches": batches,
                                         "key": b64(peer.signer.key), "revocations": []})
    response = peer.send(sealed)
    assert response.headers["Content-Type"] == "application/x-awsync"  # sealed
    return response.status_code, peer.open_answer(sealed, response)


def refused(group: Group, origins: dict[str, Any], batch: dict[str, Any], reason: str
            ) -> dict[str, Any]:
    before = group.b.digest()
    status, answer = push(group.hostile, origins, [batch])
    assert status == 200, answer
    assert [r["error"] for r in answer["refused"]] == [reason], answer
    assert group.b.digest() == before
    return answer


def c_signs(peer: FakePeer, batch: dict[str, Any], data_text: str) -> bytes:
    """C's own signature over the forged batch, as if it were the origin."""
    from aw_server.datastore.sync_items import (
        KIND_EVENT,
        digest,
        entries_blob,
        entries_hash,
        event_text,
        quote,
    )

    oid, b, start, dur, seq, _ = batch["events"][0]
    item = digest(KIND_EVENT, event_text(oid, quote(b), start, dur, seq, data_text))
    blob = entries_blob([(seq, item)])
    return peer.signer.segment(SegmentHeader(batch["origin"], batch["from"], batch["up_to"], 1,
                                             entries_hash(blob)))


@pytest.mark.parametrize("signature", ["none", "hostile", "replayed"])
def test_a_rewritten_event_of_a_is_refused(group: Group, signature: str) -> None:
    """(a) from = hwm - 1, up_to = hwm, an old event of A rewritten."""
    log = a_log(group)
    oid, b, start, dur, _ = log["event"]
    batch = forged_batch(log["log_id"], log["hwm"] - 1, log["hwm"],
                         [[oid, b, start, dur, log["hwm"], '{"title":"forged"}']])
    if signature == "hostile":
        batch["sig"] = b64(c_signs(group.hostile, batch, '{"title":"forged"}'))
    elif signature == "replayed":  # A's genuine signature of another batch, which C holds
        with group.c.db() as conn:
            batch["sig"] = b64(bytes(conn.execute(
                "SELECT sig FROM sync_segment ORDER BY up_to DESC LIMIT 1").fetchone()[0]))
    answer = refused(group, {log["log_id"]: log["origin"]}, batch, "bad_signature")
    assert "altered or invented" in answer["refused"][0]["message"] or signature == "none"
    views = group.b.views()[log["log_id"]]["events"]
    assert all("forged" not in e[3] for e in views.values())


def test_an_event_of_a_altered_in_a_genuine_batch_is_refused(group: Group) -> None:
    """C pulls A's log from B honestly (signed by A), changes one event, pushes it back."""
    log = a_log(group)
    peer = group.hostile
    sealed = peer.seal("/sync/v1/pull", {"summary": {"hwms": {}, "skip": [], "rv": []},
                                         "max_items": 2000, "max_bytes": 1 << 20})
    answer = peer.open_answer(sealed, peer.send(sealed))
    (batch,) = [b for b in answer["batches"] if b["origin"] == log["log_id"]]
    assert batch["sig"] and batch["events"]
    batch["events"][0][5] = '{"title":"altered"}'
    refused(group, answer["origins"], batch, "bad_signature")


def test_a_seq_beyond_a_makes_nobody_believe_a_was_restored(group: Group) -> None:
    """(b) seq = hwm + 1: refused at B; and a bare claim that B holds more of a log than
    its origin does (no origin signature) never makes the origin start a new log."""
    log = a_log(group)
    oid, b, start, dur, _ = log["event"]
    batch = forged_batch(log["log_id"], log["hwm"], log["hwm"] + 1,
                         [[oid, b, start, dur, log["hwm"] + 1, '{"title":"forged"}']])
    batch["sig"] = b64(c_signs(group.hostile, batch, '{"title":"forged"}'))
    refused(group, {log["log_id"]: log["origin"]}, batch, "bad_signature")
    # C lies to B about B's own log in its summary, with its own signature as "proof".
    b_log = group.b.own_log()
    fake_tip = SegmentHeader(b_log, 0, 10**9, 1, b"\0" * 32)
    fake_tip = SegmentHeader(b_log, 0, 10**9, 1, b"\0" * 32,
                             group.hostile.signer.segment(fake_tip))
    peer = group.hostile
    sealed = peer.seal("/sync/v1/pull", {"summary": {"hwms": {b_log: 10**9}, "skip": [],
                                                     "rv": [], "tip": fake_tip.to_json()},
                                         "max_items": 10, "max_bytes": 1 << 16})
    assert peer.send(sealed).status_code == 200
    assert group.b.own_log() == b_log
    own_before = group.a.own_log()
    result = group.a.sync_with(group.b)
    assert group.a.own_log() == own_before
    assert result["pushed_items"] == 0  # nothing re-sent


@pytest.mark.parametrize("cert", ["garbage", "signed-by-c"])
def test_a_made_up_log_of_a_deletes_and_blocks_nothing(group: Group, cert: str) -> None:
    """(c) a log of A that A never began, 'created' far in the future, empty batch."""
    log = a_log(group)
    fake = "f" * 32
    origin = {**log["origin"], "created": 2**61}
    reason = "bad_cert"
    if cert == "signed-by-c":
        from aw_server.datastore.sync_items import OriginInfo

        info = OriginInfo(fake, group.a.device_id, "", "", 2**61)
        origin["key"] = b64(group.hostile.signer.key)
        origin["cert"] = b64(group.hostile.signer.log_cert(info))
        reason = "unknown_key"  # B knows A's real key: another one is not believed
    else:
        origin["cert"] = b64(b"\1" * 64)
    batch = forged_batch(fake, 0, 0, [])
    batch["sig"] = b64(group.hostile.signer.segment(
        SegmentHeader(fake, 0, 0, 0, __import__("hashlib").sha256(b"").digest())))
    refused(group, {fake: origin}, batch, reason)
    # A's real log lives on: its next event reaches B and, through B, C.
    heartbeat(group.a, "edge", T.format(59), {"title": f"after-{cert}"})
    group.b.sync_with(group.a)
    group.c.sync_with(group.b)
    for device in (group.b, group.c):
        titles = {json.loads(e[3])["title"] for e in
                  device.views()[log["log_id"]]["events"].values()}
        assert f"after-{cert}" in titles, device.name


def test_a_forged_revocation_of_a_is_not_believed(group: Group) -> None:
    """Revocations travel with pushes; one not signed by a device B trusts is dropped."""
    peer = group.hostile
    thief = signing.Signer(b"\7" * 32, "someone-else")
    fake = thief.revoke(group.a.device_id, b"\0" * 32, 1)
    before = group.b.digest()
    sealed = peer.seal("/sync/v1/push", {"origins": {}, "batches": [], "key": "",
                                         "revocations": [{
                                             "device_id": fake.device_id, "key": b64(fake.key),
                                             "by": fake.by_device, "at": fake.at,
                                             "sig": b64(fake.sig)}]})
    assert peer.send(sealed).status_code == 200
    assert group.b.digest() == before


# -- revocation through a relay ---------------------------------------------------------
def revoke(device: Device, other: Device, **body: Any) -> dict[str, Any]:
    response = device.http.delete(f"/api/0/sync/peers/{other.device_id}",
                                  json={"revoke": True, **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_revoked_device_is_cut_off_through_every_relay(tmp_path: Path) -> None:
    """A revokes C; the signed revocation reaches B with A's next sync. From then on B
    refuses C (sealed 401 revoked): C gets none of A's new events through B, its crafted
    pushes change nothing, its old data stays at B, marked; and C's new data relayed by a
    fourth device D is refused while D's own goes through."""
    group = start_group(tmp_path)
    (d,) = start_devices(tmp_path, "d")
    try:
        d.pair_with(group.c)
        d.pair_with(group.b)
        d.sync_with(group.c)
        assert revoke(group.a, group.c)["revoked"] is True
        group.a.sync_with(group.b)
        assert {p["device_id"]: p["state"] for p in group.b.peer_list()}[
            group.c.device_id] == "revoked"
        c_log = group.c.own_log()
        with group.b.db() as conn:
            (data,) = conn.execute("SELECT b.data FROM bucket b JOIN origin o ON "
                                   "o.id = b.origin WHERE o.log_id = ?", (c_log,)).fetchone()
        assert json.loads(data)["$aw.sync.revoked"]["by"] == group.a.device_id

        before = group.b.digest()
        peer = group.hostile
        sealed = peer.pull()
        response = peer.send(sealed)
        assert response.status_code == 401
        assert peer.open_answer(sealed, response)["error"] == "revoked"
        status, answer = push(peer, {}, [])
        assert (status, answer["error"]) == (401, "revoked")
        assert group.b.digest() == before

        heartbeat(group.a, "edge", T.format(59), {"title": "after revocation"})
        group.b.sync_with(group.a)
        failed = group.c.http.post("/api/0/sync/now", json={"device_id": group.b.device_id,
                                                            "wait": True}).json()
        assert failed["report"][0]["ok"] is False
        a_events = group.c.views()[group.a.own_log()]["events"].values()
        assert all("after revocation" not in e[3] for e in a_events)

        heartbeat(group.c, "own-c", T.format(30), {"c": "new, after revocation"})
        make_bucket(d, "own-d")
        heartbeat(d, "own-d", T.format(0), {"d": 1})
        d.sync_with(group.c)  # D has not heard of the revocation: it takes C's new event
        result = group.b.http.post("/api/0/sync/now", json={"device_id": d.device_id,
                                                            "wait": True}).json()
        (line,) = result["report"]
        assert [(r["error"], r["device_id"]) for r in line["refused"]] == [
            ("revoked", group.c.device_id)]
        held = group.b.views()
        assert d.own_log() in held and held[d.own_log()]["events"]
        assert all("after revocation" not in e[3] for e in held[c_log]["events"].values())
        # ... and D learnt the revocation from B on the way: it refuses C now too.
        assert {p["device_id"]: p["state"] for p in d.peer_list()}[
            group.c.device_id] == "revoked"
    finally:
        for device in (group.a, group.b, group.c, d):
            device.stop()
