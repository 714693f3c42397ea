"""The base of the import readers (`database_source.py` for the two servers' databases,
`json_export_source.py` for JSON exports), and the tally of odd values they share.

A reader turns its file into `Batch`es: bucket metadata plus events in the form the store
keeps them (integer microseconds, `data` as compact JSON text). Damage raises
`ImportSourceError` naming the file and the spot; odd values ActivityWatch itself stored
are kept as closely as possible and counted in `Source.notes` (see `finding.py`).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aw_server.batches import Batch, ImportSourceError
from aw_server.transfer.source_values import (
    MAX_DURATION_S,
    loads_exact,
    parse_time_text,
    stored_json,
)


class _Events:
    """Turns source values into stored rows and keeps the tally of odd values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: Counter[str] = Counter()
        self.texts: dict[str, str | None] = {}

    def data_text(self, raw: str | None, where: str) -> str | None:
        """Stored text for a source `data` text; None means "skip this event"."""
        if raw is None:
            self.notes["data null stored as {}"] += 1
            return "{}"
        found = self.texts.get(raw, "")
        if found != "":
            if found is None:
                self.notes["data not an object: event skipped"] += 1
            return found
        try:
            value, encode = loads_exact(raw)
        except ValueError as exc:
            raise ImportSourceError(self.path, f"{where}: data is not valid JSON ({exc})") from None
        text = self.data_value(value, encode)
        if len(self.texts) > 200_000:
            self.texts.clear()
        self.texts[raw] = text
        return text

    def data_value(self, value: Any, encode: Callable[[dict[str, Any]], str] = stored_json
                   ) -> str | None:
        """`encode` is `fast_stored_json` for values orjson decoded."""
        if value is None:
            self.notes["data null stored as {}"] += 1
            return "{}"
        if not isinstance(value, dict):
            self.notes["data not an object: event skipped"] += 1
            return None
        return encode(value)

    def duration_us(self, seconds: Any, where: str) -> int:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is not a number")
        if not math.isfinite(seconds):
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is not finite")
        if seconds < 0:
            self.notes["negative duration stored as 0"] += 1
            return 0
        if seconds > MAX_DURATION_S:  # checked before scaling: 1e308 * 1e6 is infinite
            raise ImportSourceError(self.path, f"{where}: duration {seconds!r} is too large")
        return round(seconds * 1_000_000)

    def start_us(self, text: Any, where: str) -> int:
        if not isinstance(text, str):
            raise ImportSourceError(self.path, f"{where}: timestamp {text!r} is not a string")
        try:
            return parse_time_text(text)
        except ValueError:
            raise ImportSourceError(self.path, f"{where}: unparsable timestamp {text!r}") from None


# -- sources ---------------------------------------------------------------------------
class Source:
    """Base of the three readers."""

    kind = ""
    # How a bucket's events are listed when all of a bucket's first batch start at the
    # same moment ("ascending", oldest first, or "descending"); None: not in time order
    # reliably enough to publish them as they are read (see `direct.py`).
    direct_order: str | None = None

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total: int | None = None
        self.conv = _Events(path)

    @property
    def notes(self) -> Counter[str]:
        return self.conv.notes

    def fingerprint(self) -> str:
        return fingerprint_files([self.path])

    def settings(self) -> dict[str, Any]:
        return {}

    def events_left(self, done: int) -> int:
        """The most events the source can hold after `done` progress units (rows)."""
        return max(0, (self.total or 0) - done)

    def batches(self, cursor: str | None, size: int) -> Iterator[Batch]:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fingerprint_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if not path.exists():
            continue
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(65536))
            if stat.st_size > 65536:
                handle.seek(-65536, os.SEEK_END)
                digest.update(handle.read(65536))
    return digest.hexdigest()[:32]


