"""One sync session between two `SyncAccess` sides (docs/sync.md §6).

1. Pull from the remote until it has nothing more above our summary; each answer is
   applied in one local transaction with its high-water marks.
2. Push our items above the remote's summary, chunk by chunk; a `gap` answer restarts
   from the summary it carries.
A killed session loses at most the chunk in flight; the next one resumes from the
committed marks. A session with nothing to do sends one pull and no batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aw_server.datastore.sync_store import SyncGap
from aw_server.sync.protocol import MAX_BYTES, MAX_ITEMS, Summary, SyncAccess

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


def run_session(local: SyncAccess, remote: SyncAccess, *,
                check_remote_summary: Callable[[Summary], None] | None = None,
                max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES) -> SessionResult:
    result = SessionResult()
    since = local.summary()
    remote_summary = Summary()
    for _ in range(MAX_ROUNDS):
        delta, remote_summary = remote.pull(since, max_items=max_items, max_bytes=max_bytes)
        result.rounds += 1
        if not delta.empty:
            since = local.push(delta)
            result.pulled_batches += len(delta.batches())
            result.pulled_items += delta.items
        if not delta.more:
            break
    if check_remote_summary is not None:
        check_remote_summary(remote_summary)
    gaps = 0
    for _ in range(MAX_ROUNDS):
        delta, _ = local.pull(remote_summary, max_items=max_items, max_bytes=max_bytes)
        if delta.empty:
            break
        try:
            remote_summary = remote.push(delta)
        except SyncGap as exc:
            gaps += 1
            summary = getattr(exc, "summary", None)
            if gaps > MAX_GAPS or summary is None:
                raise
            remote_summary = summary
            continue
        result.rounds += 1
        result.pushed_batches += len(delta.texts or delta.batches())
        result.pushed_items += delta.items
    return result
