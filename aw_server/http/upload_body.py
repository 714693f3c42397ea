"""Receiving an uploaded file: the request body streamed to a file of the server's
`JobTable` (never held in memory), for the import routes (`routes/imports.py`,
`routes/transfer.py`). Parsing the request is HTTP's; what is done with the file is
`aw_server.transfer`'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from flask import current_app, request
from werkzeug.datastructures import FileStorage
from werkzeug.formparser import parse_form_data

from aw_server.errors import BadRequest
from aw_server.transfer.upload_jobs import JobTable

_BODY_CHUNK = 1024 * 1024
EXTENSION = "aw_import_jobs"


def upload_table() -> JobTable:
    """The server's import jobs (built with the app by `create_app`)."""
    table: JobTable = current_app.extensions[EXTENSION]
    return table


def receive_upload(table: JobTable, job_id: str) -> tuple[Path, str, int]:
    """Stream the first file of the multipart body to disk; returns (path, name, size)."""
    created: list[tuple[Path, IO[bytes]]] = []

    def stream_factory(total_content_length: int | None, content_type: str | None,
                       filename: str | None, content_length: int | None = None) -> IO[bytes]:
        path, handle = table.new_upload(f"{job_id}-{len(created)}")
        created.append((path, handle))
        return handle

    try:
        _, _, files = parse_form_data(
            request.environ, stream_factory=stream_factory, silent=False,
            max_content_length=current_app.config.get("MAX_CONTENT_LENGTH"),
            max_form_memory_size=1024 * 1024, max_form_parts=16)
        uploads: list[FileStorage] = [f for f in files.values() if f.filename is not None]
        if not uploads:
            raise BadRequest("the upload holds no file: send the export or database as a "
                             "file part of a multipart/form-data body", param="file")
        first = uploads[0]
        chosen = next(p for p, h in created if h is first.stream)
    except ValueError as exc:
        _discard(created)
        raise BadRequest(f"the multipart body could not be read: {exc}") from None
    except BaseException:
        _discard(created)
        raise
    for path, handle in created:
        handle.close()
        if path != chosen:
            path.unlink(missing_ok=True)
    name = os.path.basename((first.filename or "").replace("\\", "/")) or "upload"
    return chosen, name, chosen.stat().st_size


def _discard(created: list[tuple[Path, IO[bytes]]]) -> None:
    for path, handle in created:
        handle.close()
        path.unlink(missing_ok=True)


def save_body(table: JobTable, upload_id: str) -> Path:
    """Stream a non-multipart request body to a new upload file."""
    path, handle = table.new_upload(upload_id)
    try:
        with handle:
            while chunk := request.stream.read(_BODY_CHUNK):
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
