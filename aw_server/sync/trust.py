"""What a receiver believes (docs/sync.md §11): every batch is checked against its
origin's signature before anything is written; a log exists only with its device's
certificate; revocations are believed only when signed by a device we trust.

Whose key is whose:
- a paired device's key comes with the pairing (inside the SPAKE2 transcript), or, for a
  pairing made before keys existed, from that device's own first sealed message (trust
  on first use inside the already authenticated channel);
- any other device's key comes with its relayed log, from a paired device, and is kept
  from then on (first seen wins: a later, different key for the same device is refused).
  A paired device's key is never taken from a relay.
Refusals are per log: the rest of a message still applies.
"""

from __future__ import annotations

import logging
from typing import Any

from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import OriginInfo, b64, prepare_batch, unb64
from aw_server.datastore.sync_store import VerifiedBatch
from aw_server.datastore.sync_trust import Revocation
from aw_server.sync import signing
from aw_server.sync.errors import KeyChanged
from aw_server.sync.protocol import Delta, Refusal

logger = logging.getLogger(__name__)


class Verifier:
    def __init__(self, store: Datastore, signer: signing.Signer) -> None:
        self.store = store
        self.signer = signer

    # -- keys --------------------------------------------------------------------------
    def _sender_key(self, delta: Delta) -> bytes | None:
        """The sending device's own key, pinned on its first authenticated use."""
        sender = delta.sender
        if not sender or sender == self.store.device_id:
            return self.signer.key if sender else None
        known = self.store.trust.device_key(sender)
        claimed = delta.sender_key
        if known is None:
            if claimed is None or len(claimed) != signing.KEY_BYTES:
                return None
            logger.info("device %s: signing key %s learnt from its own sealed message",
                        sender, signing.fingerprint(claimed))
            return self.store.trust.pin_device_key(sender, claimed, "paired-session")
        if claimed is not None and claimed != known:
            raise KeyChanged(f"device {sender} now signs with another key "
                             f"({signing.fingerprint(claimed)}, paired with "
                             f"{signing.fingerprint(known)}): unpair it and pair again if "
                             "this is expected")
        return known

    def _origin_key(self, info: OriginInfo, delta: Delta, sender_key: bytes | None
                    ) -> tuple[bytes | None, str]:
        """(key, "") for a log whose device's key we have or may learn; (None, why)."""
        device = info.device_id
        if device == self.store.device_id:
            return self.signer.key, ""
        if device == delta.sender:
            return sender_key, "" if sender_key else "unsigned: its sender sent no key"
        known = self.store.trust.device_key(device)
        if known is not None:
            if info.key and info.key != known:
                return None, (f"{delta.sender} relays it with another key than the one "
                              f"known for its device ({signing.fingerprint(known)})")
            return known, ""
        if self.store.trust.peer(device) is not None:
            return None, "its device is paired with this one: its key is taken from it alone"
        if len(info.key) != signing.KEY_BYTES:
            return None, "unsigned: no key for its device"
        return info.key, ""

    # -- batches -----------------------------------------------------------------------
    def check(self, delta: Delta) -> tuple[list[VerifiedBatch], list[Refusal]]:
        """The batches of `delta` that verify, and a refusal for each log that does not."""
        batches = delta.batches()
        if not batches:
            return [], []
        sender_key = self._sender_key(delta)
        revoked = self.store.trust.revoked_devices()
        verified: list[VerifiedBatch] = []
        refused: dict[str, Refusal] = {}
        pinned: set[str] = set()
        for batch in batches:
            log_id = batch["origin"]
            info = delta.origins.get(log_id)
            if log_id in refused:
                continue
            problem, key = self._log_problem(info, delta, sender_key, revoked)
            if problem is None and info is not None and key is not None:
                prepared = prepare_batch(batch, self.store.max_event_bytes)
                message = signing.segment_message(prepared.header)
                if signing.verify(key, prepared.header.sig, message):
                    if info.device_id not in pinned and info.device_id not in (
                            delta.sender, self.store.device_id):
                        self.store.trust.pin_device_key(info.device_id, key, f"via {delta.sender}")
                        pinned.add(info.device_id)
                    verified.append(VerifiedBatch(info, prepared))
                    continue
                problem = ("bad_signature", "a batch does not carry its origin's signature "
                           "(altered or invented on the way)" if prepared.header.sig
                           else "unsigned: the sender runs an older version; update it")
            reason, why = problem or ("unknown_origin", "the batch names no origin")
            refused[log_id] = Refusal(log_id, info.device_id if info else "", reason, why)
            logger.warning("refused the log %s of device %s from %s: %s", log_id,
                           info.device_id if info else "?", delta.sender, why)
        return verified, list(refused.values())

    def _log_problem(self, info: OriginInfo | None, delta: Delta, sender_key: bytes | None,
                     revoked: set[str]) -> tuple[tuple[str, str] | None, bytes | None]:
        if info is None:
            return ("unknown_origin", "the batch names an origin it does not describe"), None
        if info.device_id in revoked:
            return ("revoked", f"device {info.device_id} was revoked: its data is no "
                               "longer accepted"), None
        key, why = self._origin_key(info, delta, sender_key)
        if key is None:
            return ("unknown_key", why), None
        if not signing.verify(key, info.cert, signing.log_message(info)):
            return ("bad_cert", "the log's identity (id, device, creation) is not signed "
                                "by its device"), None
        return None, key

    # -- revocations -------------------------------------------------------------------
    def revocation_ids(self) -> list[str]:
        return [signing.revocation_id(r) for r in self.store.trust.revocations()]

    def revocations_for(self, known: list[str]) -> list[dict[str, Any]]:
        """The revocations the other side lacks, as sent."""
        have = set(known)
        return [_revocation_json(r) for r in self.store.trust.revocations()
                if signing.revocation_id(r) not in have]

    def accept_revocations(self, delta: Delta) -> int:
        """Store every revocation signed by a device we trust that is not revoked itself;
        answers how many were new. The sender's own key is learnt first (it may have
        signed one of them)."""
        if not delta.revocations:
            return 0
        self._sender_key(delta)
        accepted = 0
        for record in delta.revocations:
            revocation = _parse_revocation(record)
            if revocation is None:
                continue
            by = revocation.by_device
            key = self.signer.key if by == self.store.device_id else self.store.trust.device_key(by)
            if key is None or by in self.store.trust.revoked_devices() \
                    or not signing.revocation_valid(revocation, key):
                continue
            if self.store.trust.add_revocation(revocation):
                accepted += 1
                logger.warning("device %s was revoked by %s: its new data is refused from "
                               "now on", revocation.device_id, by)
        return accepted


def _revocation_json(revocation: Revocation) -> dict[str, Any]:
    return {"device_id": revocation.device_id, "key": b64(revocation.key),
            "by": revocation.by_device, "at": revocation.at, "sig": b64(revocation.sig)}


def _parse_revocation(record: Any) -> Revocation | None:
    if not isinstance(record, dict):
        return None
    device, by, at = record.get("device_id"), record.get("by"), record.get("at")
    key, sig = unb64(record.get("key"), signing.KEY_BYTES), unb64(record.get("sig"),
                                                                 signing.SIG_BYTES)
    if not (isinstance(device, str) and isinstance(by, str) and type(at) is int
            and 0 < len(device) <= 64 and 0 < len(by) <= 64 and key and sig):
        return None
    return Revocation(device, key, by, at, sig)
