"""The layers stay visible: frameworks are imported only where they belong."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(("framework", "allowed"), [
    ("flask", ("aw_server/http/", "aw_server/sync/peer_api")),
    ("werkzeug", ("aw_server/http/",)),
    ("peewee", ("aw_server/datastore/",)),
    ("PyQt6", ("aw_qt/qt/",)),  # the tray's logic stays testable without a screen
])
def test_framework_imported_only_in_its_layer(framework: str, allowed: tuple[str, ...]) -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("aw_server", "watchers", "aw_qt")
        for path in python_files(package)
        if framework in imported_modules(path)
        and not str(path.relative_to(ROOT)).startswith(allowed)
    ]
    assert offenders == []


def test_query_and_transform_do_no_io() -> None:
    forbidden = {"flask", "peewee", "sqlite3", "requests", "aw_server.datastore"}
    for package in ("aw_server/query", "aw_server/transform"):
        for path in python_files(package):
            assert not imported_modules(path) & forbidden, path


def test_the_server_process_does_not_load_numpy() -> None:
    """numpy (~15 MB) is for the query worker's columnar engine only; the server, which
    parses queries and answers cached ones, stays small."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from aw_server.serve import Server\n"
        "from aw_server.api import ServerAPI\n"
        "from aw_server.http.app import create_app\n"
        "import aw_server.query, aw_server.query.pool, aw_server.query.service\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_transfer_sits_between_the_datastore_and_http() -> None:
    """Import and export (`aw_server/transfer`) build on the datastore and the models and
    are served by the HTTP layer, which they never import. The datastore sits below them
    and knows an import source only through `aw_server.batches`, which is model-level."""
    for path in python_files("aw_server/transfer"):
        assert not imported_modules(path) & {"aw_server.http", "flask", "werkzeug"}, path
    for path in python_files("aw_server/datastore"):
        assert "aw_server.transfer" not in imported_modules(path), path
    ours = {m for m in imported_modules(ROOT / "aw_server/batches.py")
            if m.startswith("aw_server.")}
    assert ours <= {"aw_server.errors", "aw_server.models"}


DATASTORE_MAY_NOT_IMPORT = {"aw_server.transform", "aw_server.query", "aw_server.transfer",
                            "aw_server.sync", "aw_server.http"}


def test_the_datastore_imports_nothing_above_it() -> None:
    """The datastore is the bottom layer above the models: the query engine, import and
    export, sync and HTTP build on it, never the other way round (its shared data types,
    `EventTable` and the import batches, sit at model level)."""
    for path in python_files("aw_server/datastore"):
        assert not imported_modules(path) & DATASTORE_MAY_NOT_IMPORT, path


def test_domain_errors_know_no_http() -> None:
    """Errors carry no status: the HTTP layer maps each class to its status in one place
    (`aw_server/http/statuses.py`), so the tray and sync raise and catch the same classes."""
    imported = imported_modules(ROOT / "aw_server/errors.py")
    assert not imported & {"flask", "werkzeug", "aw_server.http"}
    from aw_server import errors

    assert not [name for name, value in vars(errors).items()
                if isinstance(value, type) and "status" in vars(value)]
