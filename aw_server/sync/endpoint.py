"""What the sync listener does with a request, without any web framework.

`PeerEndpoint.handle()` takes the raw method, path, Host, headers and body and answers
(status, headers, body). Checks run in this order, and every rejection happens before
anything is parsed or written (docs/sync.md §4): size (413) → sender known and active
(401 unknown / revoked) → clock window (401 clock) → nonce unseen (401 replay) → AEAD
tag (401 bad_tag) → only then JSON, validation and the handler.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import SyncGap, SyncRejected
from aw_server.errors import AWError, BadRequest
from aw_server.http.statuses import status_of
from aw_server.sync import crypto
from aw_server.sync.local import LocalAccess
from aw_server.sync.pairing import PairedPeer, RateLimit, Responder, b64, unb64
from aw_server.sync.protocol import MAX_BODY, Summary, parse_push

logger = logging.getLogger(__name__)

SEALED_TYPE = "application/x-awsync"
CLOCK_WINDOW_MS = 300_000
NONCE_TTL_MS = 600_000
PAIR_BODY_LIMIT = 64 * 1024
SEALED_PATHS = ("/sync/v1/pull", "/sync/v1/push", "/sync/v1/unpair")
PAIR_PATHS = ("/sync/v1/pair", "/sync/v1/pair/confirm")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def plain(status: int, value: dict[str, Any]) -> Answer:
    return Answer(status, {"Content-Type": "application/json"},
                  json.dumps(value).encode("utf-8"))


class ReplayCache:
    """Nonces seen per peer in the last 10 minutes (twice the clock window)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, bytes], int] = {}
        self._lock = threading.Lock()

    def seen(self, peer: str, nonce: bytes) -> bool:
        with self._lock:
            return (peer, nonce) in self._seen

    def add(self, peer: str, nonce: bytes, now_ms: int) -> bool:
        """False if it was already there (a concurrent duplicate)."""
        with self._lock:
            if len(self._seen) > 1000:
                cutoff = now_ms - NONCE_TTL_MS
                self._seen = {k: t for k, t in self._seen.items() if t > cutoff}
            if (peer, nonce) in self._seen:
                return False
            self._seen[(peer, nonce)] = now_ms
            return True


class PeerEndpoint:
    def __init__(self, store: Datastore, responder: Responder, *,
                 local: Callable[[str], LocalAccess],
                 on_paired: Callable[[PairedPeer, str], None],
                 on_unpaired: Callable[[str], None],
                 check_regression: Callable[[Summary], None],
                 clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.store = store
        self.responder = responder
        self.local = local
        self.on_paired = on_paired
        self.on_unpaired = on_unpaired
        self.check_regression = check_regression
        self.clock_ms = clock_ms
        self.process_start_ms = clock_ms()
        self.replay = ReplayCache()
        self.pair_limit = RateLimit()

    # -- entry -------------------------------------------------------------------------
    def handle(self, method: str, path: str, host: str, headers: dict[str, str], body: bytes,
               remote_addr: str = "") -> Answer:
        if len(body) > MAX_BODY:
            return plain(413, {"error": "too_large"})
        if path in PAIR_PATHS:
            return self._pair(path, headers, body, remote_addr)
        if path not in SEALED_PATHS or method != "POST":
            return plain(404, {"error": "not_found"})
        return self._sealed(method, path, host, headers, body)

    # -- pairing (the only unsealed calls) ---------------------------------------------
    def _pair(self, path: str, headers: dict[str, str], body: bytes, remote_addr: str
              ) -> Answer:
        if path == "/sync/v1/pair":  # each answer is a guess: a few a minute per address
            try:
                self.pair_limit.check(remote_addr)
            except AWError as exc:
                return plain(status_of(exc), {"error": exc.error_type, "message": exc.message})
        if len(body) > PAIR_BODY_LIMIT:
            return plain(413, {"error": "too_large"})
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return plain(415, {"error": "json_only"})
        try:
            value = json.loads(body)
            if not isinstance(value, dict):
                raise BadRequest("the body must be a JSON object")
            if path == "/sync/v1/pair":
                return plain(200, self.responder.handle_pair(value))
            nonce = unb64(value.get("nonce"), "nonce")
            peer = self.responder.handle_confirm(value)
        except AWError as exc:
            return plain(status_of(exc), {"error": exc.error_type, "message": exc.message})
        except (ValueError, RecursionError):
            return plain(400, {"error": "bad_json"})
        self.on_paired(peer, remote_addr)
        keys = crypto.PeerKeys.derive(peer.key, self.store.device_id, peer.device_id)
        return self._sealed_answer(keys, peer.device_id, nonce, 200, {"ok": True})

    # -- sealed calls ------------------------------------------------------------------
    def _sealed(self, method: str, path: str, host: str, headers: dict[str, str],
                body: bytes) -> Answer:
        sender = headers.get("x-aws-device", "")
        peer = self.store.trust.peer(sender) if sender else None
        if peer is None or peer.state not in ("active", "revoked"):
            return plain(401, {"error": "unknown"})
        try:
            nonce = unb64(headers.get("x-aws-nonce", ""), "nonce")
            ts_ms = int(headers.get("x-aws-ts", ""))
        except (BadRequest, ValueError):
            return plain(401, {"error": "bad_tag"})
        if len(nonce) != crypto.NONCE_BYTES:
            return plain(401, {"error": "bad_tag"})
        keys = crypto.PeerKeys.derive(peer.key, self.store.device_id, sender)
        if peer.state == "revoked":
            # Sealed with the old key, so the removed device can trust it (TimeLimit).
            return self._sealed_answer(keys, sender, nonce, 401, {"error": "revoked"})
        now = self.clock_ms()
        if abs(now - ts_ms) > CLOCK_WINDOW_MS or ts_ms < self.process_start_ms:
            return self._sealed_answer(keys, sender, nonce, 401,
                                       {"error": "clock", "server_time": now})
        if self.replay.seen(sender, nonce):
            return self._sealed_answer(keys, sender, nonce, 401, {"error": "replay"})
        aad = crypto.request_aad(method, path, host, ts_ms, nonce, sender,
                                 self.store.device_id)
        try:
            plain_bytes = crypto.open_sealed(keys.receive, nonce, aad, body)
        except crypto.BadSeal:
            return plain(401, {"error": "bad_tag"})
        if not self.replay.add(sender, nonce, now):
            return self._sealed_answer(keys, sender, nonce, 401, {"error": "replay"})
        try:
            request = json.loads(crypto.unpack(plain_bytes, MAX_BODY * 4))
            if not isinstance(request, dict):
                raise BadRequest("the body must be a JSON object")
            status, text = self._dispatch(path, sender, request)
        except crypto.BadSeal as exc:
            status, text = 413, json.dumps({"error": "too_large", "message": str(exc)})
        except SyncGap as exc:
            status, text = 409, json.dumps({"error": "gap", "message": exc.message,
                                            "summary": self.local(sender).summary().to_json()})
        except (AWError, SyncRejected) as exc:
            status, text = status_of(exc), json.dumps({"error": exc.error_type,
                                                   "message": exc.message})
        except ValueError:
            status, text = 400, json.dumps({"error": "bad_json"})
        return self._sealed_text(keys, sender, nonce, status, text)

    def _dispatch(self, path: str, sender: str, request: dict[str, Any]) -> tuple[int, str]:
        if path == "/sync/v1/pull":
            return 200, self._pull(sender, request)
        if path == "/sync/v1/push":
            delta = parse_push(request, sender)  # the sender is the sealed header's
            summary, refused, skipped = self.local(sender).push(delta)
            return 200, json.dumps({"summary": summary.to_json(),
                                    "refused": [r.to_json() for r in refused],
                                    "skipped": skipped, "server_time": self.clock_ms()})
        # /sync/v1/unpair: the peer removed us.
        self.on_unpaired(sender)
        return 200, json.dumps({"ok": True})

    def _pull(self, sender: str, request: dict[str, Any]) -> str:
        since = Summary.from_json(request.get("summary"))
        self.check_regression(since)
        max_items, max_bytes = request.get("max_items", 2000), request.get("max_bytes", 0)
        if not (isinstance(max_items, int) and isinstance(max_bytes, int)):
            raise BadRequest("'max_items' and 'max_bytes' must be integers")
        delta, summary = self.local(sender).pull(since, max_items=max(1, max_items),
                                                 max_bytes=max(1, max_bytes or 1 << 20))
        return (f'{delta.body()[:-1]},"more":{json.dumps(delta.more)},'
                f'"skipped":{delta.skipped},"summary":{json.dumps(summary.to_json())},'
                f'"server_time":{self.clock_ms()}}}')

    def _sealed_answer(self, keys: crypto.PeerKeys, peer: str, request_nonce: bytes,
                       status: int, value: dict[str, Any]) -> Answer:
        return self._sealed_text(keys, peer, request_nonce, status, json.dumps(value))

    def _sealed_text(self, keys: crypto.PeerKeys, peer: str, request_nonce: bytes,
                     status: int, text: str) -> Answer:
        nonce = crypto.new_nonce()
        aad = crypto.response_aad(request_nonce, status, self.store.device_id, peer)
        body = crypto.seal(keys.send, nonce, aad, text)
        return Answer(status, {"Content-Type": SEALED_TYPE, "X-Aws-Nonce": b64(nonce)}, body)
