"""Pairing by one-time code (docs/sync.md §3): SPAKE2, then key confirmation both ways.

The responder (the device that showed the code) keeps one `PairingWindow`: 5 minutes,
3 tries. Every `/sync/v1/pair` call spends a try *before* anything is computed, since its
answer (the responder's confirmation MAC) lets the caller test one guess of the code
offline. The window closes after 3 tries, at expiry, or on success.

Keys: K_raw from SPAKE2 (fixed role ids: the initiator does not know the responder's
device id before its answer), transcript = SHA-256 over every message field, both device
ids and names included, so a swapped identity fails confirmation;
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

from aw_server.errors import AWError, BadRequest, Forbidden, Unauthorized
from aw_server.sync.crypto import fields, hkdf, mac, sas

WINDOW_SECONDS = 300.0
MAX_TRIES = 3
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ID_I = b"awsync/1 initiator"
_ID_R = b"awsync/1 responder"


class PairingClosed(AWError):
    """No pairing window is open (never opened, expired, used, or out of tries)."""

    status = 410
    error_type = "PairingClosed"


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
                msg_r: bytes) -> bytes:
    return hashlib.sha256(fields("awsync/1 pair", 1, initiator, responder, name_i, name_r,
                                 msg_i, msg_r)).digest()


@dataclass(frozen=True)
class PairedPeer:
    device_id: str
    name: str
    key: bytes
    sas: str
    addresses: tuple[str, ...] = ()


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

    def __init__(self, device_id: str, name: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.device_id = device_id
        self.name = name
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

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._live() is not None

    def _live(self) -> PairingWindow | None:
        window = self._window
        if window is not None and self.clock() >= window.expires:
            self._window = window = None
        return window

    def handle_pair(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /sync/v1/pair`: spend a try, run SPAKE2, answer our message and MAC."""
        with self._lock:
            window = self._live()
            if window is None or window.tries_left <= 0:
                raise PairingClosed("no pairing window is open on this device")
            window.tries_left -= 1
            code = window.code
        if body.get("proto") != 1:
            raise BadRequest("unsupported sync protocol version")
        initiator, name_i = body.get("device_id"), body.get("name", "")
        addresses = body.get("addresses", [])
        if not (isinstance(initiator, str) and 0 < len(initiator) <= 64
                and isinstance(name_i, str) and len(name_i) <= 255
                and isinstance(addresses, list) and len(addresses) <= 16
                and all(isinstance(a, str) and len(a) <= 300 for a in addresses)):
            raise BadRequest("pair request needs device_id, name and addresses")
        if initiator == self.device_id:
            raise BadRequest("a device cannot pair with itself")
        msg_i = unb64(body.get("msg"), "msg")
        spake = SPAKE2_B(normalize_code(code).encode(), idA=_ID_I, idB=_ID_R)
        msg_r = spake.start()
        try:
            raw = spake.finish(msg_i)
        except (SPAKEError, ValueError, AssertionError):
            raise BadRequest("malformed SPAKE2 message") from None
        transcript = _transcript(initiator, self.device_id, name_i, self.name, msg_i, msg_r)
        confirm_key = hkdf(raw, b"confirm" + transcript)
        key = hkdf(raw, b"key" + transcript)
        peer = PairedPeer(initiator, name_i, key, sas(key), tuple(addresses))
        with self._lock:
            if self._window is window:
                window.pending[initiator] = _Pending(peer, confirm_key, transcript)
        return {"device_id": self.device_id, "name": self.name, "msg": b64(msg_r),
                "confirm": b64(mac(confirm_key, "R", transcript))}

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


def finish_initiator(spake: Any, device_id: str, name: str, msg_i: bytes,
                     answer: dict[str, Any]) -> tuple[PairedPeer, bytes]:
    """Check the responder's answer; return the peer and our confirmation MAC."""
    responder, name_r = answer.get("device_id"), answer.get("name", "")
    if not (isinstance(responder, str) and 0 < len(responder) <= 64
            and isinstance(name_r, str) and len(name_r) <= 255):
        raise Unauthorized("pairing failed: malformed answer")
    if responder == device_id:
        raise Forbidden("that address is this device itself")
    msg_r = unb64(answer.get("msg"), "msg")
    confirm_r = unb64(answer.get("confirm"), "confirm")
    try:
        raw = spake.finish(msg_r)
    except (SPAKEError, ValueError, AssertionError):
        raise Unauthorized("pairing failed: malformed answer") from None
    transcript = _transcript(device_id, responder, name, name_r, msg_i, msg_r)
    confirm_key = hkdf(raw, b"confirm" + transcript)
    if not hmac.compare_digest(confirm_r, mac(confirm_key, "R", transcript)):
        raise Unauthorized("pairing failed: wrong code (or the code expired)")
    key = hkdf(raw, b"key" + transcript)
    peer = PairedPeer(responder, name_r, key, sas(key))
    return peer, mac(confirm_key, "I", transcript)
