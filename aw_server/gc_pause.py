"""Pause the cyclic garbage collector while queries and file imports run.

A month-long query creates millions of short-lived events and dicts, and a file import
millions of decoded events and row tuples. Each allocation burst makes CPython's
generational collector walk every live container again: roughly half of a 1M-event
query's time, and about a tenth of a large import's. These values never form reference
cycles (events, dicts, lists and tuples of scalars), so reference counting frees them all
and the cyclic collector has nothing to find. Pausing is process-wide, hence the
counter: the collector resumes when the last concurrent user ends, if it was enabled
before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
