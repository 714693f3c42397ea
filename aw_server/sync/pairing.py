"""Pairing by one-time code (docs/sync.md §3): SPAKE2, then key confirmation both ways.

The responder (the device that showed the code) keeps one `PairingWindow`: 5 minutes,
3 tries. Every well-formed `/sync/v1/pair` call spends a try before it is answered, since
its answer (the responder's confirmation MAC) lets the caller test one guess of the code
offline. A malformed one is refused without spending one (it reveals nothing), so junk
from the network cannot close the window; each source address gets a few calls a minute
(`RateLimit`). The window closes after 3 tries, at expiry, or on success.

Keys: K_raw from SPAKE2 (fixed role ids: the initiator does not know the responder's
device id before its answer), transcript = SHA-256 over every message field, both device
ids, names and public signing keys included, so a swapped identity or key fails
confirmation;
Kc = HKDF(K_raw, "confirm" ‖ transcript) for the MACs, K = HKDF(K_raw, "key" ‖ transcript)
is the pairing key both sides store. Nothing of the exchange is logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spake2 import SPAKE2_A, SPAKE2_B  # type: ignore[import-untyped]
from spake2.spake2 import SPAKEError  # type: ignore[import-untyped]

from aw_server.errors import BadRequest, Forbidden, Unauthorized
from aw_server.sync.crypto import fields, hkdf, mac, sas
from aw_server.sync.errors import PairingClosed, TooManyRequests

WINDOW_SECONDS = 300.0
MAX_TRIES = 3
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ID_I = b"awsync/1 initiator"
_ID_R = b"awsync/1 responder"
SPAKE_MSG_BYTES = 33  # spake2's Ed25519 group: one flag byte and a 32-byte element


class RateLimit:
    """At most `calls` per source address in any `seconds` (pairing only: a handful of
    calls is all a person ever needs)."""

    def __init__(self, calls: int = 10, seconds: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.calls = calls
        self.seconds = seconds
        self.clock = clock
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._seen) > 1000:
                self._seen = {a: t for a, t in self._seen.items() if t[-1] > now - self.seconds}
            recent = [t for t in self._seen.get(address, []) if t > now - self.seconds]
            if len(recent) >= self.calls:
                raise TooManyRequests(f"too many pairing requests from {address}; wait a "
                                      "minute")
            recent.append(now)
            self._seen[address] = recent


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    if len(cleaned) != 8 or any(ch not in _ALPHABET for ch in cleaned):
        raise BadRequest("a pairing code is 8 letters and digits, like K7QM-2XPA", param="code")
    return cleaned


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or len(text) > 512:
        raise BadRequest(f"'{what}' must be base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise BadRequest(f"'{what}' is not base64url") from None


def _transcript(initiator: str, responder: str, name_i: str, name_r: str, msg_i: bytes,
                msg_r: bytes, key_i: bytes, key_r: bytes) -> bytes:
    return hashlib.sha256(fields("awsync/2 pair", 2, initiator, responder, name_i, name_r,
                                 msg_i, msg_r, key_i, key_r)).digest()


@dataclass(frozen=True)
class PairedPeer:
    device_id: str
    name: str
    key: bytes
    sas: str
    sign_key: bytes
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class _PairRequest:
    initiator: str
    name: str
    addresses: tuple[str, ...]
    msg: bytes
    sign_key: bytes


def _pair_request(body: dict[str, Any], me: str) -> _PairRequest:
    """The whole request checked before any try is spent."""
    if body.get("proto") != 2:
        raise BadRequest("unsupported sync protocol version: update both devices")
    initiator, name_i = body.get("device_id"), body.get("name", "")
    addresses = body.get("addresses", [])
    if not (isinstance(initiator, str) and 0 < len(initiator) <= 64
            and isinstance(name_i, str) and len(name_i) <= 255
            and isinstance(addresses, list) and len(addresses) <= 16
            and all(isinstance(a, str) and len(a) <= 300 for a in addresses)):
        raise BadRequest("pair request needs device_id, name and addresses")
    if initiator == me:
        raise BadRequest("a device cannot pair with itself")
    msg = unb64(body.get("msg"), "msg")
    sign_key = unb64(body.get("key"), "key")
    if len(msg) != SPAKE_MSG_BYTES or len(sign_key) != 32:
        raise BadRequest("pair request needs a SPAKE2 message and a 32-byte signing key")
    return _PairRequest(initiator, name_i, tuple(addresses), msg, sign_key)


@dataclass
class _Pending:
    peer: PairedPeer
    confirm_key: bytes
    transcript: bytes


@dataclass
class PairingWindow:
    code: str
    expires: float
    tries_left: int = MAX_TRIES
    pending: dict[str, _Pending] = field(default_factory=dict)


class Responder:
    """The side that shows the code. Thread-safe; one window at a time."""

    def __init__(self, device_id: str, name: str, sign_key: bytes, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.device_id = device_id
        self.name = name
        self.sign_key = sign_key
        self.clock = clock
        self._window: PairingWindow | None = None
        self._lock = threading.Lock()
        self.last_paired: PairedPeer | None = None

    def open(self, ttl: float = WINDOW_SECONDS) -> PairingWindow:
        with self._lock:
            self._window = PairingWindow(new_code(), self.clock() + ttl)
            return self._window

    def close(self) -> None:
        with self._lock:
            self._window = None

    def _live(self) -> PairingWindow | None:
        window = self._window
        if window is not None and self.clock() >= window.expires:
            self._window = window = None
        return window

    def handle_pair(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /sync/v1/pair`: run SPAKE2, spend a try, answer our message and MAC."""
        with self._lock:
            window = self._live()
            if window is None or window.tries_left <= 0:
                raise PairingClosed("no pairing window is open on this device")
            code = window.code
        request = _pair_request(body, self.device_id)
        spake = SPAKE2_B(normalize_code(code).encode(), idA=_ID_I, idB=_ID_R)
        msg_r = spake.start()
        try:
            raw = spake.finish(request.msg)
        except (SPAKEError, ValueError, AssertionError):
            raise BadRequest("malformed SPAKE2 message") from None
        transcript = _transcript(request.initiator, self.device_id, request.name, self.name,
                                 request.msg, msg_r, request.sign_key, self.sign_key)
        confirm_key = hkdf(raw, b"confirm" + transcript)
        key = hkdf(raw, b"key" + transcript)
        peer = PairedPeer(request.initiator, request.name, key, sas(key), request.sign_key,
                          request.addresses)
        with self._lock:
            # The answer lets the caller test one guess offline: spent before it leaves.
            if self._window is not window or window.tries_left <= 0:
                raise PairingClosed("no pairing window is open on this device")
            window.tries_left -= 1
            window.pending[request.initiator] = _Pending(peer, confirm_key, transcript)
        return {"device_id": self.device_id, "name": self.name, "msg": b64(msg_r),
                "key": b64(self.sign_key), "confirm": b64(mac(confirm_key, "R", transcript))}

    def handle_confirm(self, body: dict[str, Any]) -> PairedPeer:
        """`POST /sync/v1/pair/confirm`: check the initiator's MAC; success closes the window."""
        initiator = body.get("device_id")
        given = unb64(body.get("confirm"), "confirm")
        with self._lock:
            window = self._live()
            pending = window.pending.pop(initiator, None) if (
                window is not None and isinstance(initiator, str)) else None
            if window is None or pending is None:
                raise PairingClosed("no pairing in progress for this device")
            expected = mac(pending.confirm_key, "I", pending.transcript)
            if not hmac.compare_digest(given, expected):
                if window.tries_left <= 0 and not window.pending:
                    self._window = None
                raise Unauthorized("pairing confirmation failed: wrong code")
            self._window = None
            self.last_paired = pending.peer
            return pending.peer


def start_initiator(code: str) -> tuple[Any, bytes]:
    spake = SPAKE2_A(normalize_code(code).encode(), idA=_ID_I, idB=_ID_R)
    return spake, spake.start()


def finish_initiator(spake: Any, device_id: str, name: str, msg_i: bytes, sign_key: bytes,
                     answer: dict[str, Any]) -> tuple[PairedPeer, bytes]:
    """Check the responder's answer; return the peer and our confirmation MAC."""
    responder, name_r = answer.get("device_id"), answer.get("name", "")
    if not (isinstance(responder, str) and 0 < len(responder) <= 64
            and isinstance(name_r, str) and len(name_r) <= 255):
        raise Unauthorized("pairing failed: malformed answer")
    if responder == device_id:
        raise Forbidden("that address is this device itself")
    try:
        msg_r = unb64(answer.get("msg"), "msg")
        confirm_r = unb64(answer.get("confirm"), "confirm")
        key_r = unb64(answer.get("key"), "key")
        raw = spake.finish(msg_r)
    except (SPAKEError, ValueError, AssertionError, BadRequest):
        raise Unauthorized("pairing failed: malformed answer (is the other device up to "
                           "date?)") from None
    transcript = _transcript(device_id, responder, name, name_r, msg_i, msg_r, sign_key, key_r)
    confirm_key = hkdf(raw, b"confirm" + transcript)
    if len(key_r) != 32 or not hmac.compare_digest(confirm_r, mac(confirm_key, "R", transcript)):
        raise Unauthorized("pairing failed: wrong code (or the code expired)")
    key = hkdf(raw, b"key" + transcript)
    peer = PairedPeer(responder, name_r, key, sas(key), key_r)
    return peer, mac(confirm_key, "I", transcript)
