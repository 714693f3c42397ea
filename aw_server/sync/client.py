"""The other device, seen through sealed HTTP: `RemotePeer` implements `SyncAccess`.

Every request is sealed with our send key; every answer must open with the peer's key
and be bound to our request's nonce, or it is treated as an attack, never as data. A
`clock` rejection is retried once with the offset the (sealed) answer reports.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from aw_server.datastore.sync_items import SyncGap
from aw_server.errors import AWError
from aw_server.sync import crypto
from aw_server.sync.endpoint import SEALED_TYPE
from aw_server.sync.errors import PeerError
from aw_server.sync.pairing import b64, unb64
from aw_server.sync.protocol import (
    MAX_BODY,
    MAX_BYTES,
    MAX_ITEMS,
    Delta,
    Refusal,
    Summary,
    parse_push,
)

TIMEOUT = (5.0, 120.0)


class PeerGap(SyncGap):
    def __init__(self, message: str, summary: Summary) -> None:
        super().__init__(message)
        self.summary = summary


def request_headers(me: str, ts_ms: int, nonce: bytes, host: str) -> dict[str, str]:
    return {"Content-Type": SEALED_TYPE, "X-Aws-Device": me, "X-Aws-Ts": str(ts_ms),
            "X-Aws-Nonce": b64(nonce), "Host": host}


def seal_request(keys: crypto.PeerKeys, me: str, peer: str, host: str, path: str,
                 ts_ms: int, nonce: bytes, text: str) -> tuple[dict[str, str], bytes]:
    aad = crypto.request_aad("POST", path, host, ts_ms, nonce, me, peer)
    return request_headers(me, ts_ms, nonce, host), crypto.seal(keys.send, nonce, aad, text)


class RemotePeer:
    def __init__(self, address: str, me: str, peer: str, key: bytes, *,
                 session: requests.Session | None = None) -> None:
        self.address = address
        self.me = me
        self.peer = peer
        self.keys = crypto.PeerKeys.derive(key, me, peer)
        self.http = session or requests.Session()
        self.offset_ms = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.requests = 0
        self.skew_s: float | None = None

    # -- transport ---------------------------------------------------------------------
    def call(self, path: str, value: dict[str, Any] | str) -> dict[str, Any]:
        text = value if isinstance(value, str) else json.dumps(value)
        for attempt in range(2):
            status, answer = self._once(path, text)
            if status == 401 and answer.get("error") == "clock" and attempt == 0:
                server_time = answer.get("server_time")
                if isinstance(server_time, int):
                    self.offset_ms = server_time - int(time.time() * 1000)
                    continue
            break
        if status == 200:
            return answer
        if status == 409 and answer.get("error") == "gap":
            raise PeerGap(str(answer.get("message", "gap")),
                          Summary.from_json(answer.get("summary")))
        code = str(answer.get("error", "error"))
        raise PeerError(f"{self.address} answered {status} {code}", code=code, trusted=True)

    def _once(self, path: str, text: str) -> tuple[int, dict[str, Any]]:
        ts_ms = int(time.time() * 1000) + self.offset_ms
        nonce = crypto.new_nonce()
        headers, body = seal_request(self.keys, self.me, self.peer, self.address, path,
                                     ts_ms, nonce, text)
        try:
            response = self.http.post(f"http://{self.address}{path}", data=body,
                                      headers=headers, timeout=TIMEOUT, stream=True)
            raw = response.raw.read(MAX_BODY + 1, decode_content=True)
        except requests.RequestException as exc:
            raise PeerError(f"cannot reach {self.address}: {type(exc).__name__}",
                            code="unreachable") from None
        self.requests += 1
        self.bytes_sent += len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items())
        self.bytes_received += len(raw) + sum(
            len(k) + len(v) + 4 for k, v in response.headers.items())
        if len(raw) > MAX_BODY:
            raise PeerError(f"{self.address} sent an oversized answer", code="too_large")
        if response.headers.get("Content-Type") != SEALED_TYPE:
            try:
                word = str(json.loads(raw).get("error", "error"))
            except (ValueError, AttributeError):
                word = "error"
            raise PeerError(f"{self.address} refused the request ({response.status_code} {word},"
                            " unsealed)", code=word)
        try:
            reply_nonce = unb64(response.headers.get("X-Aws-Nonce", ""), "nonce")
            aad = crypto.response_aad(nonce, response.status_code, self.peer, self.me)
            plain = crypto.open_sealed(self.keys.receive, reply_nonce, aad, raw)
            answer = json.loads(crypto.unpack(plain, MAX_BODY * 4))
        except (AWError, crypto.BadSeal, ValueError):
            raise PeerError(f"the answer from {self.address} failed authentication",
                            code="bad_answer") from None
        if not isinstance(answer, dict):
            raise PeerError("malformed answer", code="bad_answer")
        server_time = answer.get("server_time")
        if isinstance(server_time, int):
            self.skew_s = (server_time - time.time() * 1000) / 1000
        return response.status_code, answer

    # -- SyncAccess ----------------------------------------------------------------------
    def summary(self) -> Summary:
        _, summary = self.pull(Summary({}, []), max_items=1, max_bytes=1)
        return summary

    def pull(self, since: Summary, *, max_items: int = MAX_ITEMS,
             max_bytes: int = MAX_BYTES) -> tuple[Delta, Summary]:
        answer = self.call("/sync/v1/pull", {"summary": since.to_json(),
                                             "max_items": max_items, "max_bytes": max_bytes})
        try:
            delta = parse_push(answer, self.peer)
            summary = Summary.from_json(answer.get("summary"))
        except AWError as exc:
            raise PeerError(f"malformed pull answer: {exc.message}", code="bad_answer") from None
        delta.more = bool(answer.get("more"))
        skipped = answer.get("skipped", 0)
        delta.skipped = skipped if type(skipped) is int else 0
        return delta, summary

    def push(self, delta: Delta) -> tuple[Summary, list[Refusal], int]:
        answer = self.call("/sync/v1/push", delta.body())
        try:
            listed = answer.get("refused") or []
            refused = [Refusal.from_json(r) for r in (listed if isinstance(listed, list)
                                                      else [listed])]
            summary = Summary.from_json(answer.get("summary"))
        except AWError as exc:
            raise PeerError(f"malformed push answer: {exc.message}", code="bad_answer") from None
        skipped = answer.get("skipped", 0)
        return summary, refused, skipped if type(skipped) is int else 0

    def unpair(self) -> None:
        self.call("/sync/v1/unpair", {})
