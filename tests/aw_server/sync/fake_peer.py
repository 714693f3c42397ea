"""A paired device made of test code: it pairs with a real server through the real
protocol, then crafts sealed requests byte by byte (to tamper with them)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from aw_server.sync import crypto, signing
from aw_server.sync.client import seal_request
from aw_server.sync.pairing import b64, finish_initiator, start_initiator, unb64

if TYPE_CHECKING:
    from tests.aw_server.sync.devices import Device


@dataclass
class Sealed:
    path: str
    headers: dict[str, str]
    body: bytes
    nonce: bytes


class FakePeer:
    def __init__(self, address: str, server_id: str) -> None:
        self.address = address
        self.server_id = server_id
        self.device_id = str(uuid.uuid4())
        self.key = b""
        self.signer = signing.Signer(uuid.uuid4().bytes * 2, self.device_id)

    @classmethod
    def impersonating(cls, device: Device, server: Device) -> FakePeer:
        """A real paired device turned hostile: its own device id and pairing key, read
        from its database (what malware or a thief on that device has), talking to
        `server`'s sync listener."""
        peer = cls(server.sync_address, server.device_id)
        peer.device_id = device.device_id
        with device.db() as conn:
            peer.key = bytes(conn.execute("SELECT key FROM sync_peer WHERE device_id = ?",
                                          (server.device_id,)).fetchone()[0])
            seed = conn.execute("SELECT value FROM meta WHERE key = 'sync.sign_seed'")
            peer.signer = signing.Signer(bytes.fromhex(seed.fetchone()[0]), device.device_id)
        return peer

    def pair(self, code: str) -> None:
        spake, msg = start_initiator(code)
        answer = requests.post(f"http://{self.address}/sync/v1/pair", timeout=10, json={
            "proto": 2, "device_id": self.device_id, "name": "fake", "addresses": [],
            "msg": b64(msg), "key": b64(self.signer.key)})
        assert answer.status_code == 200, answer.text
        peer, confirm = finish_initiator(spake, self.device_id, "fake", msg, self.signer.key,
                                         answer.json())
        confirmed = requests.post(f"http://{self.address}/sync/v1/pair/confirm", timeout=10,
                                  json={"device_id": self.device_id, "confirm": b64(confirm),
                                        "nonce": b64(crypto.new_nonce())})
        assert confirmed.status_code == 200
        self.key = peer.key

    @property
    def keys(self) -> crypto.PeerKeys:
        return crypto.PeerKeys.derive(self.key, self.device_id, self.server_id)

    def seal(self, path: str, value: dict[str, Any], *, ts_ms: int | None = None,
             keys: crypto.PeerKeys | None = None, sender: str | None = None) -> Sealed:
        nonce = crypto.new_nonce()
        headers, body = seal_request(keys or self.keys, sender or self.device_id,
                                     self.server_id, self.address, path,
                                     ts_ms if ts_ms is not None else int(time.time() * 1000),
                                     nonce, json.dumps(value))
        return Sealed(path, headers, body, nonce)

    def send(self, sealed: Sealed, *, path: str | None = None,
             headers: dict[str, str] | None = None, body: bytes | None = None
             ) -> requests.Response:
        return requests.post(f"http://{self.address}{path or sealed.path}",
                             data=sealed.body if body is None else body,
                             headers={**sealed.headers, **(headers or {})}, timeout=30)

    def open_answer(self, sealed: Sealed, response: requests.Response) -> dict[str, Any]:
        """Opens a sealed answer (fails the test if it does not open)."""
        aad = crypto.response_aad(sealed.nonce, response.status_code, self.server_id,
                                  self.device_id)
        plain = crypto.open_sealed(self.keys.receive,
                                   unb64(response.headers["X-Aws-Nonce"], "nonce"), aad,
                                   response.content)
        value: dict[str, Any] = json.loads(crypto.unpack(plain, 1 << 26))
        return value

    def pull(self) -> Sealed:
        return self.seal("/sync/v1/pull", {"summary": {"hwms": {}, "skip": []},
                                           "max_items": 10, "max_bytes": 100000})
