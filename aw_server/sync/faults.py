"""Fault injection for the kill tests (docs/sync.md, Test plan §3.2): test builds only."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)


class FaultPlan:
    """Test builds only (`--testing` and AWSYNC_TEST_FAULT=before_commit:k|after_commit:k):
    the process dies at that point of the k-th applied chunk, like a kill -9."""

    def __init__(self, spec: str) -> None:
        stage, _, count = spec.partition(":")
        self.stage = stage
        self.at = int(count) if count.isdigit() else 0
        self.seen = 0

    def hit(self, stage: str) -> None:
        if stage != self.stage or not self.at:
            return
        if stage == "before_commit":
            self.seen += 1
        if self.seen >= self.at:
            logger.warning("AWSYNC_TEST_FAULT %s:%d: exiting now", stage, self.at)
            os._exit(86)

    def applied(self) -> None:
        if self.stage == "after_commit":
            self.seen += 1
            self.hit("after_commit")
