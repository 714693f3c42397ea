"""One sync session between two `SyncAccess` sides (docs/sync.md §6).

1. Pull from the remote until it has nothing more above our summary; each answer is
   applied in one local transaction with its high-water marks.
2. Push our items above the remote's summary, chunk by chunk; a `gap` answer restarts
   from the summary it carries.
A log one side refuses (its data does not verify, its device is revoked...) is left out
for the rest of the session in that direction, so the verifiable rest goes on and the
session ends. A killed session loses at most the chunk in flight; the next one resumes
from the committed marks. A session with nothing to do sends one pull and no batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aw_server.datastore.sync_items import SyncGap
from aw_server.sync.protocol import MAX_BYTES, MAX_ITEMS, Refusal, Summary, SyncAccess

logger = logging.getLogger(__name__)

MAX_ROUNDS = 100_000  # 2e8 items at 2000 per chunk: a bound, never reached in practice
MAX_GAPS = 3


@dataclass
class SessionResult:
    pulled_batches: int = 0
    pulled_items: int = 0
    pushed_batches: int = 0
    pushed_items: int = 0
    rounds: int = 0
    skipped: int = 0  # items left out (too large, unusable), each recorded where it was
    refused: list[dict[str, Any]] = field(default_factory=list)  # logs not taken, and why

    def refuse(self, refusals: list[Refusal], side: str) -> set[str]:
        for refusal in refusals:
            self.refused.append({**refusal.to_json(), "by": side})
        return {r.log_id for r in refusals}


def run_session(local: SyncAccess, remote: SyncAccess, *,
                check_remote_summary: Callable[[Summary], None] | None = None,
                max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES) -> SessionResult:
    result = SessionResult()
    refused_here: set[str] = set()
    since = local.summary()
    remote_summary = Summary()
    for _ in range(MAX_ROUNDS):
        delta, remote_summary = remote.pull(since.skipping(refused_here), max_items=max_items,
                                            max_bytes=max_bytes)
        result.rounds += 1
        result.skipped += delta.skipped
        if not delta.idle:
            since, refusals, skipped = local.push(delta)
            refused_here |= result.refuse(refusals, "local")
            result.pulled_batches += len(delta.batches())
            result.pulled_items += delta.items
            result.skipped += skipped
        if not delta.more:
            break
    if check_remote_summary is not None:
        check_remote_summary(remote_summary)
    _push_all(local, remote, remote_summary, result, max_items, max_bytes)
    return result


def _push_all(local: SyncAccess, remote: SyncAccess, remote_summary: Summary,
              result: SessionResult, max_items: int, max_bytes: int) -> None:
    refused_there: set[str] = set()
    gaps = 0
    for _ in range(MAX_ROUNDS):
        delta, _ = local.pull(remote_summary.skipping(refused_there), max_items=max_items,
                              max_bytes=max_bytes)
        result.skipped += delta.skipped
        if delta.idle:
            break
        try:
            remote_summary, refusals, skipped = remote.push(delta)
        except SyncGap as exc:
            gaps += 1
            summary = getattr(exc, "summary", None)
            if gaps > MAX_GAPS or summary is None:
                raise
            remote_summary = summary
            continue
        refused_there |= result.refuse(refusals, "remote")
        result.skipped += skipped
        result.rounds += 1
        result.pushed_batches += len(delta.texts or delta.batches())
        result.pushed_items += delta.items
        if delta.empty:  # revocations only: handed over once
            break
