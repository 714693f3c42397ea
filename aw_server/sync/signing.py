"""Device signing keys (docs/sync.md §11): Ed25519 over what each device originates.

Three things are signed, each under its own label so no signature can stand for another:
- a batch of a change log: (log id, from, up_to, item count, hash of the item entries);
- a log's identity certificate: (log id, device id, created) — a new log, a reset or
  the retirement of older logs is believed only with it;
- a revocation: (revoked device, its key, revoking device, time).
The private key is 32 random bytes kept in the database (`meta`), created with it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aw_server.datastore.sync_items import OriginInfo, SegmentHeader, b64
from aw_server.datastore.sync_trust import Revocation
from aw_server.sync.crypto import fields

KEY_BYTES = 32
SIG_BYTES = 64


def segment_message(header: SegmentHeader) -> bytes:
    return fields("awsync/2 segment", header.log_id, header.start, header.up_to, header.count,
                  header.entries_hash)


def log_message(info: OriginInfo) -> bytes:
    return fields("awsync/2 log", info.log_id, info.device_id, info.created)


def revocation_message(device_id: str, key: bytes, by_device: str, at: int) -> bytes:
    return fields("awsync/2 revoke", device_id, key, by_device, at)


@lru_cache(maxsize=256)
def _public(key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(key)


def verify(key: bytes, signature: bytes, message: bytes) -> bool:
    if len(key) != KEY_BYTES or len(signature) != SIG_BYTES:
        return False
    try:
        _public(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def fingerprint(key: bytes) -> str:
    """A short, stable name for a public key (shown to users, in logs)."""
    return b64(hashlib.sha256(key).digest()[:9])


class Signer:
    """This device's key pair; implements the datastore's `BatchSigner`."""

    def __init__(self, seed: bytes, device_id: str) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.device_id = device_id
        self._certs: dict[tuple[str, int], bytes] = {}

    @property
    def key(self) -> bytes:
        return self._public

    def segment(self, header: SegmentHeader) -> bytes:
        return self._private.sign(segment_message(header))

    def log_cert(self, info: OriginInfo) -> bytes:
        cached = self._certs.get((info.log_id, info.created))
        if cached is None:
            cached = self._certs[(info.log_id, info.created)] = \
                self._private.sign(log_message(info))
        return cached

    def revoke(self, device_id: str, key: bytes, at: int) -> Revocation:
        sig = self._private.sign(revocation_message(device_id, key, self.device_id, at))
        return Revocation(device_id, key, self.device_id, at, sig)


def revocation_valid(revocation: Revocation, signer_key: bytes) -> bool:
    return verify(signer_key, revocation.sig, revocation_message(
        revocation.device_id, revocation.key, revocation.by_device, revocation.at))


def revocation_id(revocation: Revocation) -> str:
    """Short id peers exchange to learn which revocations the other lacks."""
    return b64(hashlib.sha256(revocation.sig).digest()[:12])
