"""What an uploaded file is, checked before importing it, and the synchronous import of
an uploaded JSON export (`POST /api/0/import`).

A wrongly chosen file is refused at once with a 400 that says what it looks like (a
PNG, a ZIP, a CSV export...) rather than later as a failed job or "not JSON". Only the
first bytes are read, and for a database its table list.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aw_server.batches import SQLITE_MAGIC, ImportSourceError
from aw_server.datastore.imports.jobs import ImportReport
from aw_server.errors import BadRequest
from aw_server.transfer.finding import find_activitywatch_databases, open_source

if TYPE_CHECKING:
    from aw_server.api import ServerAPI

SNIFF_BYTES = 64
# What a wrongly chosen file usually is, so the 400 can say so instead of "not JSON".
_MAGIC = [
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"), (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
]
_FORMATS = "an ActivityWatch JSON export or an aw-server / aw-server-rust database file"


def what_it_is(head: bytes) -> str | None:
    """None when `head` may start an export or a database; else what the file looks like."""
    if head.startswith(SQLITE_MAGIC):
        return None
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text.startswith(b"{") or (not text and head):
        return None  # JSON object (or only whitespace so far: let the reader decide)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if text.startswith(b"bucket,timestamp,duration"):
        return "a CSV export (CSV cannot be imported; use a JSON export)"
    if text.startswith(b"["):
        return "JSON, but a list, not an export object"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown kind"
    return "text that is not JSON"


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


def check_source(path: Path, filename: str) -> None:
    """Refuse at once what is not an ActivityWatch file, naming what it seems to be.
    Opening a database reads only its table list; JSON is checked by its first byte."""
    head = _head(path)
    if not head:
        raise BadRequest(f"the uploaded file '{filename}' is empty", param="file")
    problem = what_it_is(head)
    if problem is not None:
        raise BadRequest(f"'{filename}' is not {_FORMATS}: it looks like {problem}",
                         param="file")
    if head.startswith(SQLITE_MAGIC):
        try:
            with open_source(path):
                pass
        except ImportSourceError as exc:
            raise BadRequest(f"'{filename}': {exc.what}", param="file") from None


def import_export_upload(api: ServerAPI, path: Path, what: str) -> ImportReport:
    """Import the uploaded JSON export at `path` now (as aw-server's `POST /api/0/import`
    answers only when done), then delete it whatever happened. `what` names the upload
    in errors ("the request body")."""
    try:
        head = _head(path)
        if not head:
            raise BadRequest(f"{what} is empty; send an ActivityWatch JSON export")
        problem = what_it_is(head) or ("a database (import it with POST /api/0/import/jobs)"
                                       if head.startswith(SQLITE_MAGIC) else None)
        if problem is not None:
            raise BadRequest(f"{what} is not a valid JSON export: it looks like {problem}")
        try:
            return api.import_file(path)
        except ImportSourceError as exc:
            raise BadRequest(f"{what} is not a valid JSON export: {exc.what}") from None
    finally:
        path.unlink(missing_ok=True)


def found_databases(*, testing: bool) -> list[dict[str, Any]]:
    """ActivityWatch's own databases on this computer, to offer importing them in place
    (the same search the server logs at a first start)."""
    out = []
    for path in find_activitywatch_databases(testing=testing):
        with contextlib.suppress(OSError):
            stat = path.stat()
            out.append({
                "path": str(path),
                "kind": "aw-server-rust" if path.parent.name == "aw-server-rust" else "aw-server",
                "size": stat.st_size,
                "modified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
            })
    return out
