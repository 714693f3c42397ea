"""aw_qt tests run Qt on the offscreen platform; subprocess tests pass their own env."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from tests.aw_qt.helpers import living_children


@pytest.fixture(autouse=True)
def _no_orphans() -> Iterator[None]:
    """Every process a test starts is gone when it ends (session fixtures don't count)."""
    before = living_children()
    yield
    assert {pid: cmd for pid, cmd in living_children().items() if pid not in before} == {}
