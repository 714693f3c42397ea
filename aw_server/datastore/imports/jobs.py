"""The records of a file import: its job row, and the report it ends with.

A job row (`import_job`) is what makes an import resumable: its phase, the publishing
resume point, each bucket's running counts and the direct-publishing state survive a
crash or a stop, and the store and the publisher both update it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aw_server.datastore.imports.direct import DirectState

ProgressFn = Callable[[str, int, "int | None"], None]
StoredRow = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class ImportResult:
    bucket_id: str
    created: bool
    inserted: int
    skipped: int


@dataclass(slots=True)
class ImportReport:
    """What one file import did, bucket by bucket."""

    source: str
    kind: str
    buckets: list[ImportResult]
    settings_added: list[str] = field(default_factory=list)
    settings_kept: list[str] = field(default_factory=list)  # ours differed: ours kept
    notes: dict[str, int] = field(default_factory=dict)
    resumed: bool = False

    @property
    def inserted(self) -> int:
        return sum(r.inserted for r in self.buckets)

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.buckets)


@dataclass(slots=True)
class Job:
    id: int
    staging: str
    phase: str
    bucket_pos: int
    start_pos: int | None
    results: dict[str, list[Any]]
    direct: DirectState

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Job:
        """From the columns of `JOB_COLUMNS`, in order."""
        job_id, staging, phase, bucket_pos, start_pos, results, direct = row[:7]
        return cls(job_id, staging, phase, bucket_pos, start_pos, json.loads(results),
                   DirectState.from_json(direct))


JOB_COLUMNS = "id, staging, phase, bucket_pos, start_pos, results, direct"


def now() -> str:
    return datetime.now(UTC).isoformat()
