"""Run aw-core 0.5.18's own transforms (`aw_transform`) on our test inputs.

The HTTP differential test compares whole query results on one data set; this goes
one level down so that a transform can be checked against the original on thousands of
small, tricky inputs in one subprocess. The transforms run in the reference venv (see
``reference.py``), never in ours.

Events cross as ``[start_us, duration_us, data, id]``. aw-core keeps timestamps in
milliseconds (it truncates on construction), so inputs meant to compare exactly should
start on whole milliseconds.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from aw_server.models import Event
from tests.support.reference import run_in_reference_venv

# Each case is a list of arguments; an argument {"events": [...]} becomes a list of
# aw_core Events, anything else is passed as it is. The result must be a list of events.
_SCRIPT = """
import json, sys
from datetime import datetime, timedelta, timezone
import aw_transform
from aw_core.models import Event

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)

def to_event(row):
    start, duration, data, event_id = row
    return Event(id=event_id, timestamp=EPOCH + start * US, duration=duration * US, data=data)

def to_row(event):
    return [(event.timestamp - EPOCH) // US, event.duration // US, event.data, event.id]

def argument(value):
    if isinstance(value, dict) and set(value) == {"events"}:
        return [to_event(row) for row in value["events"]]
    return value

function = getattr(aw_transform, sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as source:
    cases = json.load(source)
results = [[to_row(e) for e in function(*map(argument, case))] for case in cases]
with open(sys.argv[3], "w", encoding="utf-8") as sink:
    json.dump(results, sink)
"""

Row = tuple[int, int, Any, Any]


def as_argument(events: list[Event]) -> dict[str, Any]:
    """An event list as `run_aw_transform` passes it to aw-core."""
    return {"events": [[e.timestamp_us, e.duration_us, e.data, e.id] for e in events]}


def rows(events: list[Event]) -> list[Row]:
    """Events in the form `run_aw_transform` returns them, for comparing."""
    return [(e.timestamp_us, e.duration_us, e.data, e.id) for e in events]


def run_aw_transform(function: str, cases: list[list[Any]]) -> list[list[Row]]:
    """`aw_transform.<function>(*case)` for every case, in one reference-venv process."""
    with tempfile.TemporaryDirectory(prefix="aw-core-oracle-") as tmp:
        source, sink = Path(tmp) / "cases.json", Path(tmp) / "results.json"
        source.write_text(json.dumps(cases), encoding="utf-8")
        run_in_reference_venv(_SCRIPT, function, str(source), str(sink), check=True,
                              timeout=300.0)
        results = json.loads(sink.read_text(encoding="utf-8"))
    return [[(s, d, data, i) for s, d, data, i in result] for result in results]
