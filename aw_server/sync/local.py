"""This device's datastore as a `SyncAccess`: the local side of every session.

Kept apart from `protocol.py` (the wire types) because it needs the receiver's checks
(`trust.Verifier`), and those need the wire types: one module each, no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aw_server.datastore.store import Datastore
from aw_server.sync import signing
from aw_server.sync.protocol import MAX_BYTES, MAX_ITEMS, Delta, Refusal, Summary
from aw_server.sync.trust import Verifier


class ApplyFaults(Protocol):
    """Where a test may make the process die while it applies a peer's batches, like a
    kill -9 (tests/support/sync_faults.py). The product passes none."""

    def before_commit(self) -> None:
        """Called inside the apply transaction, before it commits."""

    def applied(self) -> None:
        """Called after a pushed batch list was committed."""


class LocalAccess:
    """This device's datastore as a `SyncAccess`. `peer` is the device on the other end
    (the summary carries our proof of what that device's own log handed out)."""

    def __init__(self, store: Datastore, *, peer: str = "",
                 on_handout: Callable[[int], None] | None = None,
                 before_commit: Callable[[], None] | None = None) -> None:
        self.store = store
        self.peer = peer
        self.on_handout = on_handout
        self.before_commit = before_commit
        self.signer = signing.Signer(store.trust.sign_seed(), store.device_id)
        self.verifier = Verifier(store, self.signer)

    def summary(self) -> Summary:
        hwms, skip = self.store.deltas.summary()
        tip = self.store.trust.segment_tip(self.peer) if self.peer else None
        return Summary(hwms, skip, self.verifier.revocation_ids(), tip)

    def pull(self, since: Summary, *, max_items: int = MAX_ITEMS,
             max_bytes: int = MAX_BYTES) -> tuple[Delta, Summary]:
        delta = self.store.deltas.read(since.hwms, set(since.skip),
                                      max_items=min(max_items, MAX_ITEMS),
                                      max_bytes=min(max_bytes, MAX_BYTES), signer=self.signer)
        if delta.skipped:
            self.store.trust.record_own_skipped(delta.skipped)
        if delta.own_up_to and self.on_handout is not None:
            # Recorded outside the database before any of it leaves (log regression check).
            self.on_handout(delta.own_up_to)
        out = Delta(delta.origins, texts=delta.batches, more=delta.more, items=delta.items,
                    sender=self.store.device_id, sender_key=self.signer.key,
                    revocations=self.verifier.revocations_for(since.rv),
                    skipped=len(delta.skipped))
        return out, self.summary()

    def push(self, delta: Delta) -> tuple[Summary, list[Refusal], int]:
        self.verifier.accept_revocations(delta)
        verified, refused = self.verifier.check(delta)
        skipped = 0
        if verified:
            skipped = self.store.sync.apply(verified, before_commit=self.before_commit).skipped
        return self.summary(), refused, skipped
