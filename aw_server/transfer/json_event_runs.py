"""Runs of events in a JSON export, decoded by one orjson call each: where a run of
complete events likely ends (`run_end`), and their stored rows with the usual event
converted inline (`fast_rows`). The fast path of `json_export_source.py`, apart because
it is the one place the reader's speed is made: reading an export spends most of its
time here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from aw_server.batches import StagedEvent
from aw_server.models import MAX_US, MIN_US
from aw_server.transfer.source_values import (
    EPOCH,
    MAX_DURATION_S,
    ONE_US,
    ORJSON_FLOATS_OK,
    fast_stored_json,
)

# After an event: the list's end, or a comma and the next event's "{".
_NEXT_EVENT = re.compile(r"[ \t\n\r]*(?:\]|,[ \t\n\r]*\{)")
Encoder = Callable[[dict[str, Any]], str]


def run_end(buf: str, start: int, limit: int) -> int | None:
    """A position after a '}' in buf[start:limit] that is followed by ']' or by ',' and
    '{': the likely end of the last complete event there. Likely only: the '}' can be
    inside a string or a nested list; then "[" + buf[start:cut] + "]" is not valid JSON
    (a string or a bracket is left open), so a run that decodes ends at a real boundary."""
    end = limit
    for _ in range(8):
        cut = buf.rfind("}", start, end)
        if cut < 0:
            return None
        if _NEXT_EVENT.match(buf, cut + 1):
            return cut + 1
        end = cut
    return None


def fast_rows(bucket_id: str, objs: list[Any], n: int,
               event: Callable[[str, Any, int, Encoder], StagedEvent | None],
               inexact: Callable[[], bool]) -> list[StagedEvent] | None:
    """`event` for each of a run of orjson-decoded events, inlined for the usual event
    (an object with an aware timestamp text, a non-negative duration, a `data` object;
    orjson gives no NaN or infinity); any other goes through `event` itself, which words
    the errors and keeps the tally. None when the run must be decoded again by `json`
    (see `loads_deferred`): an integer beyond 64 bits was read as a float where it
    matters, in an odd event or in a `data`."""
    out: list[StagedEvent] = []
    append = out.append
    fromisoformat = datetime.fromisoformat
    dumps = orjson.dumps
    floats_ok = ORJSON_FLOATS_OK
    for i, obj in enumerate(objs):
        try:
            data = obj["data"]
            duration = obj["duration"]
            # A naive time raises TypeError here (it cannot be subtracted from an aware
            # one): `event` takes it, with the rest of what is unusual.
            start = (fromisoformat(obj["timestamp"]) - EPOCH) // ONE_US
        except (KeyError, TypeError, ValueError):
            pass
        else:
            if type(data) is dict and (type(duration) is float or type(duration) is int) \
                    and 0 <= duration <= MAX_DURATION_S and MIN_US <= start <= MAX_US:
                if data:
                    text = dumps(data).decode()  # fast_stored_json, inlined
                    if "e+" in text and inexact():
                        return None
                    if "e-" in text or "0.0000" in text or not floats_ok:
                        text = fast_stored_json(data)
                else:
                    text = "{}"
                append((bucket_id, start, start + round(duration * 1_000_000), text))
                continue
        if inexact():
            return None
        row = event(bucket_id, obj, n + i, fast_stored_json)
        if row is not None:
            append(row)
    return out


@dataclass(slots=True)
class EventRun:
    """Events decoded by one library call, with what decoded them."""

    objs: list[Any]
    encode: Encoder
    inexact: Callable[[], bool]  # see `loads_deferred`
    text: str = ""  # the JSON array, to decode again when `inexact()`
