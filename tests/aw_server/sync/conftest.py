"""Fixtures: real aw-server processes on loopback ports, paired through the local API.
The three in-process datastores (`trio`) for the session code without HTTP are in
tests/conftest.py, shared with the devices list's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aw_server.sync.devices import Device, start_devices


def _paired(base: pytest.TempPathFactory, label: str) -> Iterator[tuple[Device, Device]]:
    a, b = start_devices(base.mktemp(label), "ab")
    try:
        a.pair_with(b)
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def shared_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Device, Device]]:
    """One paired couple for a module's tests; each test uses its own bucket names."""
    yield from _paired(tmp_path_factory, "shared")


@pytest.fixture
def pair_ab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Device, Device]]:
    yield from _paired(tmp_path_factory, "pair")
