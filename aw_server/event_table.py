"""EventTable: events as numpy columns plus one shared list of data dicts.

A data type at model level, below both the datastore (which reads a bucket straight
into one, `datastore/columns.py`) and the query engine (whose columnar transforms work
on it), so neither has to import the other.

A month of window events is a million `Event` objects. Building them, and every
transform building new ones, was most of a 30-day summary's time and memory. Here an
event is one row of four int64 columns, and its data an index into `datas`, so
transforms that only move spans or drop events (flood, filter_period_intersect,
filter_keyvals, the sorts) never touch a dict, and those that change data (categorize,
tag) work once per distinct dict.

Row order and every value equal those of the `list[Event]` path: the columnar
transforms (`aw_server.transform.columnar`) are checked against the list ones by
property tests. Columns are never modified after construction; operations build new
tables that share `datas` (whose dicts are never mutated either, as for `Event`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aw_server.models import US_PER_S, ColumnarEvents, Event, format_us, freeze

Int64s = NDArray[np.int64]
Indices = NDArray[np.intp]

# Stands for "no id" in the id column; stored ids are positive row ids.
NO_ID = int(np.iinfo(np.int64).min)


def _int64s(values: Sequence[int] | Int64s) -> Int64s:
    return np.asarray(values, dtype=np.int64)


class EventTable(ColumnarEvents):
    __slots__ = ("_first_rows", "data_index", "datas", "duration", "ids", "start")

    def __init__(
        self,
        start: Int64s,
        duration: Int64s,
        ids: Int64s,
        data_index: Indices,
        datas: Sequence[dict[str, Any]],
    ) -> None:
        self.start = start
        self.duration = duration
        self.ids = ids
        self.data_index = data_index
        self.datas = datas
        self._first_rows: tuple[Indices, Indices] | None = None

    @classmethod
    def from_events(cls, events: Sequence[Event]) -> EventTable:
        """Events sharing a data dict share its row in `datas`."""
        slot_of: dict[int, int] = {}
        datas: list[dict[str, Any]] = []
        index: list[int] = []
        for event in events:
            slot = slot_of.get(id(event.data))
            if slot is None:
                slot = slot_of[id(event.data)] = len(datas)
                datas.append(event.data)
            index.append(slot)
        return cls(
            _int64s([e.timestamp_us for e in events]),
            _int64s([e.duration_us for e in events]),
            _int64s([NO_ID if e.id is None else e.id for e in events]),
            np.asarray(index, dtype=np.intp),
            datas,
        )

    def __len__(self) -> int:
        return len(self.start)

    def __repr__(self) -> str:
        return f"<EventTable of {len(self)} events, {len(self.datas)} distinct data>"

    @property
    def end(self) -> Int64s:
        return self.start + self.duration

    def take(self, rows: Indices | NDArray[np.bool_] | slice) -> EventTable:
        """The rows selected by an index array, a boolean mask or a slice, in that order."""
        return EventTable(
            self.start[rows], self.duration[rows], self.ids[rows], self.data_index[rows],
            self.datas,
        )

    def with_spans(self, start: Int64s, duration: Int64s) -> EventTable:
        return EventTable(start, duration, self.ids, self.data_index, self.datas)

    def with_data(self, data_index: Indices, datas: Sequence[dict[str, Any]]) -> EventTable:
        return EventTable(self.start, self.duration, self.ids, data_index, datas)

    def first_rows(self) -> tuple[Indices, Indices]:
        """(used slots ascending, the first row using each); kept, as several merges of
        one table (by title, by category) need it."""
        if self._first_rows is None:
            first = np.full(len(self.datas), len(self), dtype=np.intp)
            np.minimum.at(first, self.data_index, np.arange(len(self), dtype=np.intp))
            used = np.flatnonzero(first < len(self))
            self._first_rows = (used, first[used])
        return self._first_rows

    def used_data(self) -> Indices:
        """Indices into `datas` that some row refers to, ascending."""
        if not len(self):
            return np.zeros(0, dtype=np.intp)
        counts = np.bincount(self.data_index, minlength=len(self.datas))
        return np.flatnonzero(counts)

    def row_data_classes(self) -> Indices:
        """Per row, a number equal for two rows exactly when their data dicts are equal
        (`==`, so {"a": 1} and {"a": 1.0} are one class, and key order does not matter)."""
        datas = self.datas
        classes = np.zeros(len(datas), dtype=np.intp)
        used = self.used_data().tolist()
        # Dicts are first told apart by a sum of their items' hashes (equal dicts have
        # equal sums, whatever their key order); only dicts with the same sum are
        # compared, and distinct data rarely share one.
        seen: dict[int, list[int]] = {}
        chosen = []
        for slot in used:
            data = datas[slot]
            try:
                digest = sum(map(hash, data.items()))
            except TypeError:  # a list or dict value
                digest = hash(freeze(data))
            candidates = seen.get(digest)
            if candidates is None:
                seen[digest] = [slot]
                chosen.append(slot)
                continue
            for candidate in candidates:
                if datas[candidate] == data:
                    chosen.append(candidate)
                    break
            else:
                candidates.append(slot)
                chosen.append(slot)
        classes[used] = chosen
        return classes[self.data_index]

    def to_events(self) -> list[Event]:
        datas = self.datas
        return [
            Event(start, duration, datas[slot], None if event_id == NO_ID else event_id)
            for start, duration, event_id, slot in zip(
                self.start.tolist(), self.duration.tolist(), self.ids.tolist(),
                self.data_index.tolist(), strict=True,
            )
        ]

    def to_json(self) -> list[dict[str, Any]]:
        datas = self.datas
        return [
            {
                "id": None if event_id == NO_ID else event_id,
                "timestamp": format_us(start),
                "duration": duration / US_PER_S,
                "data": datas[slot],
            }
            for start, duration, event_id, slot in zip(
                self.start.tolist(), self.duration.tolist(), self.ids.tolist(),
                self.data_index.tolist(), strict=True,
            )
        ]


def empty_table() -> EventTable:
    nothing = np.zeros(0, dtype=np.int64)
    return EventTable(nothing, nothing, nothing, np.zeros(0, dtype=np.intp), [])
