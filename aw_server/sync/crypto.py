"""Sealed messages (docs/sync.md §4): per-direction ChaCha20-Poly1305 keys from the
pairing key, AAD over every field that gives a message its meaning.

Request AAD  = "awsync/1 req"  ‖ METHOD ‖ PATH?QUERY ‖ Host ‖ ts_ms ‖ nonce ‖ sender ‖ receiver
Response AAD = "awsync/1 resp" ‖ request nonce ‖ status ‖ sender ‖ receiver
Every field is length-prefixed, so no two field lists share an encoding. The labels keep
a response from ever opening as a request. The plaintext is one flag byte (0 = raw JSON,
1 = deflate) and the JSON text.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
_SALT = b"awsync/1"
_COMPRESS_ABOVE = 1024


class BadSeal(Exception):
    """The message does not open with the expected key and context."""


def hkdf(secret: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(secret)


def direction_key(key: bytes, sender: str, receiver: str) -> bytes:
    return hkdf(key, b"dir|" + sender.encode() + b"|" + receiver.encode())


@dataclass(frozen=True)
class PeerKeys:
    """The two one-way keys between this device and a peer."""

    send: ChaCha20Poly1305
    receive: ChaCha20Poly1305

    @classmethod
    def derive(cls, key: bytes, me: str, peer: str) -> PeerKeys:
        return cls(ChaCha20Poly1305(direction_key(key, me, peer)),
                   ChaCha20Poly1305(direction_key(key, peer, me)))


def fields(*parts: str | bytes | int) -> bytes:
    out = bytearray()
    for part in parts:
        raw = part if isinstance(part, bytes) else str(part).encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def request_aad(method: str, path: str, host: str, ts_ms: int, nonce: bytes, sender: str,
                receiver: str) -> bytes:
    return fields("awsync/1 req", method.upper(), path, host.lower(), ts_ms, nonce, sender,
                  receiver)


def response_aad(request_nonce: bytes, status: int, sender: str, receiver: str) -> bytes:
    return fields("awsync/1 resp", request_nonce, status, sender, receiver)


def pack(json_text: str) -> bytes:
    raw = json_text.encode("utf-8", "surrogatepass")
    if len(raw) > _COMPRESS_ABOVE:
        return b"\x01" + zlib.compress(raw, 1)
    return b"\x00" + raw


def unpack(plain: bytes, limit: int) -> str:
    if not plain:
        raise BadSeal("empty plaintext")
    if plain[0] == 1:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(plain[1:], limit + 1)
        if len(raw) > limit or inflater.unconsumed_tail:
            raise BadSeal("inflated body too large")
    elif plain[0] == 0:
        raw = plain[1:]
    else:
        raise BadSeal("unknown body encoding")
    return raw.decode("utf-8", "surrogatepass")


def seal(aead: ChaCha20Poly1305, nonce: bytes, aad: bytes, json_text: str) -> bytes:
    return aead.encrypt(nonce, pack(json_text), aad)


def open_sealed(aead: ChaCha20Poly1305, nonce: bytes, aad: bytes, body: bytes) -> bytes:
    try:
        return aead.decrypt(nonce, body, aad)
    except InvalidTag:
        raise BadSeal("bad tag") from None


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def sas(key: bytes) -> str:
    """Six digits both users compare after pairing (short authentication string)."""
    value = int.from_bytes(hkdf(key, b"sas", 8), "big") % 1_000_000
    return f"{value:06d}"


def mac(key: bytes, *parts: str | bytes | int) -> bytes:
    return hmac.new(key, fields(*parts), hashlib.sha256).digest()
