"""An opener for the query worker that also writes down what the worker had imported
by then: the test process cannot see a child's `sys.modules` otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aw_server.datastore.source import QueryStore


def open_and_record(database: str, record: str) -> QueryStore:
    store = QueryStore(database)
    Path(record).write_text(json.dumps(sorted(sys.modules)))
    return store
