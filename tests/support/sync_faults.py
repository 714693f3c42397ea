"""A sync fault plan for the kill tests: the process dies at a chosen point of applying
a peer's batches, like a kill -9 (exit status 86, so a test can tell it from a crash).

The product knows nothing of it: the server takes any `ApplyFaults` in its constructor
(`Server(config, sync_faults=...)`), and `launch_server.py` starts a server with this one.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

EXIT_STATUS = 86


class FaultPlan:
    """`before_commit:k` dies inside the transaction of the k-th applied batch list, before
    it commits; `after_commit:k` right after the k-th pushed batch list committed."""

    def __init__(self, spec: str) -> None:
        stage, _, count = spec.partition(":")
        if stage not in ("before_commit", "after_commit") or not count.isdigit():
            raise ValueError(f"a fault is before_commit:K or after_commit:K, not {spec!r}")
        self.stage = stage
        self.at = int(count)
        self.seen = 0

    def before_commit(self) -> None:
        if self.stage == "before_commit":
            self._count()

    def applied(self) -> None:
        if self.stage == "after_commit":
            self._count()

    def _count(self) -> None:
        self.seen += 1
        if self.seen >= self.at:
            logger.warning("sync fault %s:%d: exiting now", self.stage, self.at)
            logging.shutdown()
            os._exit(EXIT_STATUS)
