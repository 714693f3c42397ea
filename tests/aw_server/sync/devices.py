"""Real server processes for sync tests, paired through the real local API, and readers
of each device's database (read-only, from outside the process)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.client import HttpClient
from tests.support.servers import ServerProcess, start_server_process

JSON = {"Content-Type": "application/json"}


def no_schedule(folder: Path) -> None:
    """Servers started in `folder` run no background sync, so every sync in a test is one
    the test asked for: `sync_interval = 0` in the config file the server reads (its
    default path under AW_BASE_DIR), kept beside anything a test wrote there."""
    path = folder / "dirs" / "config" / "aw-server" / "aw-server.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if "[server-testing]" in text:
        text = text.replace("[server-testing]\n", "[server-testing]\nsync_interval = 0\n", 1)
    else:
        text += "\n[server-testing]\nsync_interval = 0\n"
    path.write_text(text, encoding="utf-8")


@dataclass
class Device:
    name: str
    proc: ServerProcess
    http: HttpClient
    device_id: str = ""
    sync_address: str = ""
    peers: dict[str, str] = field(default_factory=dict)  # name → device id

    @classmethod
    def start(cls, base: Path, name: str) -> Device:
        no_schedule(base / name)
        proc = start_server_process(base / name)
        http = HttpClient(proc.url)
        device = cls(name, proc, http)
        device.device_id = http.get("/api/0/info").json()["device_id"]
        return device

    def start_again(self, *, sync_fault: str = "") -> None:
        """Start the stopped process again (same dirs, database and ports); with
        `sync_fault` (tests/support/sync_faults.py), through the test launcher that
        injects it."""
        self.http.session.close()
        plain = (self.proc.module, self.proc.extra_args)
        if sync_fault:
            self.proc.module = "tests.support.launch_server"
            self.proc.extra_args = [*self.proc.extra_args, "--sync-fault", sync_fault]
        try:
            self.proc.start()
        finally:
            self.proc.module, self.proc.extra_args = plain
        self.http = HttpClient(self.proc.url)

    def restart(self) -> None:
        self.proc.stop()
        self.start_again()

    def kill_and_restart(self) -> None:
        self.proc.kill()
        self.start_again()

    def stop(self) -> None:
        self.http.session.close()
        self.proc.stop()

    @property
    def dbpath(self) -> Path:
        return self.proc.dbpath

    # -- local sync API ------------------------------------------------------------------
    def open_pairing(self, **extra: Any) -> dict[str, Any]:
        response = self.http.post("/api/0/sync/pairing",
                                  json={"listen": ["127.0.0.1"], "port": 0, **extra})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.sync_address = body["addresses"][0]
        return body

    def pair_with(self, other: Device) -> dict[str, Any]:
        window = other.open_pairing()
        response = self.http.post("/api/0/sync/pair", json={
            "address": window["addresses"][0], "code": window["code"],
            "listen": ["127.0.0.1"], "port": 0})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.peers[other.name] = other.device_id
        other.peers[self.name] = self.device_id
        return body

    def sync_with(self, other: Device) -> dict[str, Any]:
        response = self.http.post("/api/0/sync/now",
                                  json={"device_id": other.device_id, "wait": True})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"][other.device_id]
        assert "error" not in result, result
        return result

    def peer_list(self) -> list[dict[str, Any]]:
        response = self.http.get("/api/0/sync/peers")
        assert response.status_code == 200, response.text
        peers: list[dict[str, Any]] = response.json()
        return peers

    # -- the database, read from outside ---------------------------------------------------
    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(f"file:{self.dbpath}?mode=ro", uri=True, timeout=30)
        try:
            yield conn
        finally:
            conn.close()

    def views(self) -> dict[str, dict[str, Any]]:
        """Per origin log id: its live buckets' metadata and its events, keyed by identity."""
        out: dict[str, dict[str, Any]] = {}
        with self.db() as conn:
            origins = {oid: (log_id, blocked) for oid, log_id, blocked in
                       conn.execute("SELECT id, log_id, blocked FROM origin")}
            for oid, (log_id, blocked) in origins.items():
                if blocked:
                    continue
                buckets = {}
                for b, type_, client, hostname, created, name, data in conn.execute(
                    "SELECT origin_bucket_id, type, client, hostname, created, name, data "
                    "FROM bucket WHERE origin = ? AND deleted = 0", (oid,)
                ):
                    parsed = json.loads(data)
                    parsed.pop("$aw.sync.origin", None)
                    buckets[b] = (type_, client, hostname, created, name,
                                  json.dumps(parsed, sort_keys=True))
                events = {}
                for origin_id, b, start, end, data in conn.execute(
                    "SELECT coalesce(e.origin_id, e.id), b.origin_bucket_id, e.start, e.end, "
                    "d.text FROM event e "
                    "JOIN event_data d ON d.id = e.data_id "
                    "JOIN bucket b ON b.key = e.bucket WHERE e.origin = ?", (oid,)
                ):
                    events[origin_id] = (b, start, end, data)
                out[log_id] = {"buckets": buckets, "events": events}
        return out

    def own_log(self) -> str:
        with self.db() as conn:
            return str(conn.execute("SELECT log_id FROM origin WHERE is_self = 1").fetchone()[0])

    def digest(self) -> str:
        """Everything sync may write: rows, seqs, marks, tombstones, peers and their keys,
        device keys, stored batch proofs, revocations and skipped items."""
        h = hashlib.sha256()
        with self.db() as conn:
            for sql in (
                "SELECT e.id, bucket, start, end, d.text, origin, origin_id, seq FROM event e "
                "JOIN event_data d ON d.id = e.data_id ORDER BY e.id",
                "SELECT key, id, origin, origin_bucket_id, seq, deleted, epoch, data FROM bucket "
                "ORDER BY key",
                "SELECT origin, origin_id, seq FROM tombstone ORDER BY origin, origin_id",
                "SELECT origin, hwm FROM sync_hwm ORDER BY origin",
                "SELECT id, log_id, device_id, blocked, created, cert FROM origin ORDER BY id",
                "SELECT device_id, key, state, sign_key FROM sync_peer ORDER BY device_id",
                "SELECT origin, up_to, start, sig, entries FROM sync_segment ORDER BY 1, 2",
                "SELECT device_id, key FROM sync_device ORDER BY device_id",
                "SELECT device_id, key, by_device, at, sig FROM sync_revocation ORDER BY 1",
                "SELECT origin, seq, reason FROM sync_skipped ORDER BY origin, seq",
            ):
                for row in conn.execute(sql):
                    h.update(repr(row).encode())
        return h.hexdigest()


def start_devices(base: Path, names: str) -> list[Device]:
    devices = []
    try:
        for name in names:
            devices.append(Device.start(base, name))
    except BaseException:
        for device in devices:
            device.stop()
        raise
    return devices


def make_bucket(device: Device, bucket: str, type_: str = "currentwindow") -> None:
    response = device.http.post(f"/api/0/buckets/{bucket}", json={
        "client": "tests", "type": type_, "hostname": f"host-{device.name}"})
    assert response.status_code in (200, 304), response.text


def heartbeat(device: Device, bucket: str, ts: str, data: dict[str, Any],
              pulsetime: float = 10.0, duration: float = 0.0) -> None:
    response = device.http.post(f"/api/0/buckets/{bucket}/heartbeat?pulsetime={pulsetime}",
                                json={"timestamp": ts, "duration": duration, "data": data})
    assert response.status_code == 200, response.text
