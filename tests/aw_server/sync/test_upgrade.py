"""Databases made by the previous schema (version 4, before signed logs) upgrade in place
on first start: each gets its signing key, foreign logs are fetched again (signed) so
they can be relayed, and existing pairings keep working: the two devices learn each
other's key from their first sealed messages (trust on first use, docs/sync.md §11)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from aw_server.datastore.schema import MIGRATIONS, SCHEMA_VERSION
from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import short_device_id
from tests.aw_server.sync.devices import Device, heartbeat, start_devices
from tests.support.servers import free_port

PREVIOUS = 4
S = 1_000_000
COMPACT = (",", ":")  # the previous code stored data as compact JSON, as this one does
T0 = 1_714_557_600 * S  # 2024-05-01T10:00:00Z


def v4_database(path: Path, device_id: str, log_id: str, listen_port: int) -> None:
    """What the previous code left: schema 4, its own origin, a bucket with 3 events (seqs
    1..4), and the sync listener it had bound."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:PREVIOUS]:
        migration(conn)
    conn.execute(f"PRAGMA user_version = {PREVIOUS}")
    conn.execute("INSERT INTO origin (id, log_id, device_id, is_self) VALUES (1, ?, ?, 1)",
                 (log_id, device_id))
    conn.execute("INSERT INTO meta VALUES ('device_id', ?)", (device_id,))
    conn.execute("INSERT INTO meta VALUES ('sync.listen', ?)",
                 (json.dumps({"hosts": ["127.0.0.1"], "port": listen_port}),))
    conn.execute("INSERT INTO bucket (key, id, type, client, hostname, created, origin, "
                 "origin_bucket_id, seq) VALUES (1, 'w', 'currentwindow', 'c', 'h', "
                 "'2024-01-01T00:00:00+00:00', 1, 'w', 1)")
    conn.executemany("INSERT INTO event VALUES (?, 1, ?, ?, ?, 1, ?, ?)",
                     [(i, T0 + i * S, T0 + i * S + S, json.dumps({"i": i}, separators=COMPACT),
                       i, i + 1) for i in (1, 2, 3)])
    conn.close()


def add_v4_pairing(path: Path, peer: str, key: bytes, address: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO sync_peer (device_id, name, key, state, created, changed, "
                 "address, sas) VALUES (?, 'peer', ?, 'active', 1, 1, ?, '123456')",
                 (peer, key, address))
    conn.close()


def add_v4_mirror(path: Path, of_device: str, of_log: str, events: list[int]) -> None:
    """A mirror received unsigned under the old protocol, up to seq 3 of that log."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO origin (id, log_id, device_id, is_self) VALUES (2, ?, ?, 0)",
                 (of_log, of_device))
    conn.execute("INSERT INTO bucket (key, id, type, client, hostname, created, data, origin, "
                 "origin_bucket_id, seq, readonly) VALUES (2, ?, 'currentwindow', 'c', 'h', "
                 "'2024-01-01T00:00:00+00:00', ?, 2, 'w', 1, 1)",
                 (f"w-synced-from-{short_device_id(of_device)}",
                  json.dumps({"$aw.sync.origin": of_device}, separators=COMPACT)))
    conn.executemany("INSERT INTO event (bucket, start, end, data, origin, origin_id, seq) "
                     "VALUES (2, ?, ?, ?, 2, ?, ?)",
                     [(T0 + i * S, T0 + i * S + S, json.dumps({"i": i}, separators=COMPACT),
                       i, i + 1) for i in events])
    conn.execute("INSERT INTO sync_hwm VALUES (2, 3)")
    conn.close()


def test_a_version_4_database_upgrades_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    device, log_id = str(uuid.uuid4()), uuid.uuid4().hex
    v4_database(db, device, log_id, 5601)
    add_v4_pairing(db, "peer-1", b"k" * 32, "127.0.0.1:1")
    add_v4_mirror(db, "peer-1", "f" * 32, [1, 2])
    store = Datastore(db)
    try:
        conn = store.db.conn()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert (store.device_id, store.db.log_id) == (device, log_id)
        assert len(store.trust.sign_seed()) == 32
        (peer,) = store.trust.peers()
        assert (peer.state, peer.key, peer.sign_key, peer.label) == ("active", b"k" * 32,
                                                                     None, "")
        assert conn.execute("SELECT hwm FROM sync_hwm").fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM event WHERE origin = 2").fetchone()[0] == 2
        assert [e.data for e in store.events.read("w")] == [{"i": 3}, {"i": 2}, {"i": 1}]
        assert store.db.current_seq == 4
    finally:
        store.close()


def test_devices_paired_before_the_upgrade_keep_syncing_and_relay_signed(tmp_path: Path
                                                                         ) -> None:
    ids = {n: (str(uuid.uuid4()), uuid.uuid4().hex, free_port()) for n in "ab"}
    pairing_key = uuid.uuid4().bytes * 2
    for name, other in (("a", "b"), ("b", "a")):
        db = tmp_path / name / "server.sqlite"
        db.parent.mkdir()
        device, log_id, port = ids[name]
        v4_database(db, device, log_id, port)
        add_v4_pairing(db, ids[other][0], pairing_key, f"127.0.0.1:{ids[other][2]}")
    add_v4_mirror(tmp_path / "b" / "server.sqlite", ids["a"][0], ids["a"][1], [1, 2])
    a, b = devices = [Device.start(tmp_path, n) for n in "ab"]
    (c,) = start_devices(tmp_path, "c")
    try:
        assert [p["sign_key"] for p in a.peer_list()] == [None]
        heartbeat(a, "w", "2024-05-01T11:00:00Z", {"new": "after the upgrade"})
        b.sync_with(a)  # each learns the other's key from its first sealed message
        assert b.views()[a.own_log()] == a.views()[a.own_log()]
        assert a.peer_list()[0]["sign_key"] and b.peer_list()[0]["sign_key"]
        c.pair_with(b)
        c.sync_with(b)  # A's log, fetched again signed by B, passes on to C
        assert c.views()[a.own_log()] == a.views()[a.own_log()]
    finally:
        for device in (*devices, c):
            device.stop()
