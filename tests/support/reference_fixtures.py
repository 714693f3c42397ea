"""Pytest fixtures for the aw-server 0.12.0 reference oracle (see ``reference.py``).

Two ways to use them:

* register the module as a plugin (``pytest_plugins = ["tests.support.reference_fixtures"]``
  in the top-level conftest): then :func:`pytest_collection_modifyitems` adds
  ``@pytest.mark.reference`` to every test that requests one of these fixtures, so
  ``pytest -m "not reference"`` deselects them without anyone remembering the marker;
* or import the fixtures into a test module (``from tests.support.reference_fixtures
  import reference_server``) and mark the tests yourself.  The fixtures refuse to run for a
  test without the marker, because an unmarked test would silently escape
  ``-m "not reference"`` and force a ~20 s venv build on people who opted out.

``AW_REFERENCE_SKIP=1`` turns every reference test into a skip (for offline machines);
otherwise a venv that cannot be built is a test *error*, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.reference import (
    ReferenceServer,
    ensure_reference_venv,
    start_reference_server,
)

__all__ = [
    "REFERENCE_FIXTURES",
    "pytest_collection_modifyitems",
    "reference_server",
    "reference_venv",
]

#: Fixture names whose users must carry ``@pytest.mark.reference``.
REFERENCE_FIXTURES: frozenset[str] = frozenset({"reference_venv", "reference_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Plugin hook: mark every test that (transitively) uses a reference fixture."""
    del config
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & REFERENCE_FIXTURES and item.get_closest_marker("reference") is None:
            item.add_marker(pytest.mark.reference)


def _require_marker(request: pytest.FixtureRequest) -> None:
    """Fail loudly if the requesting test escaped the ``reference`` marker."""
    node = request.node
    if isinstance(node, pytest.Item) and node.get_closest_marker("reference") is None:
        pytest.fail(
            f"{node.nodeid} uses {request.fixturename!r} but is not marked "
            "@pytest.mark.reference (or register tests.support.reference_fixtures as a plugin)",
            pytrace=False,
        )
    if os.environ.get("AW_REFERENCE_SKIP") == "1":
        pytest.skip("AW_REFERENCE_SKIP=1: reference aw-server tests disabled")


@pytest.fixture(scope="session")
def reference_venv() -> Path:
    """Path of the reference venv (aw-server 0.12.0 + aw-client 0.5.x), built once.

    Session-scoped: the first call may spend ~20 s in pip; later calls (and later runs)
    only read the marker file.
    """
    if os.environ.get("AW_REFERENCE_SKIP") == "1":
        pytest.skip("AW_REFERENCE_SKIP=1: reference aw-server tests disabled")
    return ensure_reference_venv()


@pytest.fixture
def reference_server(
    request: pytest.FixtureRequest, reference_venv: Path, tmp_path: Path
) -> Iterator[ReferenceServer]:
    """A fresh aw-server 0.12.0 (peewee storage, non-testing mode) on a free loopback port.

    Its XDG dirs live under ``tmp_path / "reference"``, so every test starts from an empty
    database.  Stopped (SIGTERM, then SIGKILL) after the test.  Deleting a bucket on it
    needs ``?force=1`` because it runs outside testing mode (see docs/reference-behaviour.md).
    """
    _require_marker(request)
    server = start_reference_server(tmp_path / "reference", venv_dir=reference_venv)
    try:
        yield server
    finally:
        server.stop()
