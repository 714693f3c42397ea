"""What an import source hands the store: bucket metadata and events, batch by batch.

These types sit at model level, beside `models.py`, because two layers share them: the
readers in `aw_server.transfer` produce them, and the datastore's bulk import
(`datastore/imports/`) consumes them. The datastore must
not import the transfer package (which imports the datastore), so it knows a source only
through the `BatchSource` protocol below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aw_server.errors import BadRequest

SQLITE_MAGIC = b"SQLite format 3\x00"


class ImportSourceError(BadRequest):
    """The source file is damaged or is not an ActivityWatch file; nothing was imported."""

    def __init__(self, path: Path | str, what: str) -> None:
        super().__init__(f"{path}: {what}")
        self.path = str(path)
        self.what = what


@dataclass(slots=True)
class SourceBucket:
    id: str
    type: str
    client: str
    hostname: str
    created: str
    data: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


# One staged event: bucket id, start µs, end µs, data as stored JSON text.
StagedEvent = tuple[str, int, int, str]


@dataclass(slots=True)
class Batch:
    buckets: list[SourceBucket]
    events: list[StagedEvent]
    cursor: str  # where to continue after this batch (opaque to the caller)
    done: int  # progress units consumed so far (rows or bytes)


class BatchSource(Protocol):
    """What the store's import reads of a source (`aw_server.transfer.source.Source`
    implements it): identity for resuming, batches, and the tally of odd values."""

    path: Path
    kind: str
    total: int | None
    # "ascending"/"descending" when a bucket's events come in time order reliably enough
    # to publish them as they are read (see `datastore/imports/direct.py`); None otherwise.
    direct_order: str | None

    @property
    def notes(self) -> Counter[str]: ...

    def fingerprint(self) -> str: ...

    def settings(self) -> dict[str, Any]: ...

    def events_left(self, done: int) -> int: ...

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]: ...
