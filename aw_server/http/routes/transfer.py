"""Export (whole server or one bucket) and import, in ActivityWatch's JSON format; export
also as CSV (`?format=csv`, the same file as `aw-server export --format csv`)."""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, cast

from flask import Response, request

from aw_server.batches import SQLITE_MAGIC, ImportSourceError
from aw_server.errors import BadRequest
from aw_server.http.routes.imports import JobTable, receive_upload, upload_table, what_it_is
from aw_server.http.routing import (
    Param,
    Route,
    api,
    json_response,
    require_json_type,
    streamed_json,
)
from aw_server.transfer_csv import write_csv

_CSV_CHUNK = 64 * 1024
_BODY_CHUNK = 1024 * 1024
_FORMAT = Param("format", "string", "'json' (default, ActivityWatch's export) or 'csv' "
                "(one row per event, a column per data key)")


class _Cancelled(Exception):
    """The client went away: stop writing the CSV."""


class _QueueWriter:
    """What `write_csv` writes to: text gathered into chunks and handed to the response
    through a small queue, so a big export streams with bounded memory."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None],
                 cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= _CSV_CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self.put("".join(self.parts).encode("utf-8", "surrogatepass"))
            self.parts, self.size = [], 0

    def put(self, item: bytes | BaseException | None) -> None:
        while True:
            if self.cancelled.is_set():
                raise _Cancelled
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def _csv_stream(bucket_ids: list[str] | None) -> Iterator[bytes]:
    """`write_csv` is a writer (two passes, it never holds all events); it runs in a
    thread of its own and the response reads its output as it comes."""
    source = api()
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    cancelled = threading.Event()
    sink = _QueueWriter(chunks, cancelled)

    def produce() -> None:
        try:
            write_csv(source, cast(TextIO, sink), bucket_ids=bucket_ids)
            sink.flush()
            sink.put(None)
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the response, which ends the stream
            with contextlib.suppress(_Cancelled):
                sink.put(exc)

    def read() -> Iterator[bytes]:
        producer = threading.Thread(target=produce, name="aw-export-csv", daemon=True)
        producer.start()
        try:
            while True:
                item = chunks.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancelled.set()

    return read()


def _format() -> str:
    value = request.args.get("format", "json").lower()
    if value not in ("json", "csv"):
        raise BadRequest(f"'format' must be 'json' or 'csv', got {value!r}", param="format")
    return value


def _csv_response(bucket_ids: list[str] | None, filename: str) -> Response:
    for bucket_id in bucket_ids or []:
        api().get_bucket(bucket_id)  # 404 before the 200 status line goes out
    return Response(_csv_stream(bucket_ids), status=200, mimetype="text/csv",
                    headers=_attachment(filename))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename={filename}"}


def export_all() -> Response:
    if _format() == "csv":
        return _csv_response(None, "aw-buckets-export.csv")
    return streamed_json(api().export_chunks(), _attachment("aw-buckets-export.json"))


def export_bucket(bucket_id: str) -> Response:
    if _format() == "csv":
        return _csv_response([bucket_id], f"aw-bucket-export_{bucket_id}.csv")
    chunks = api().export_chunks([bucket_id])
    return streamed_json(chunks, _attachment(f"aw-bucket-export_{bucket_id}.json"))


def import_all() -> Response:
    """Answers when the import is done, as aw-server's does. The body is streamed to a
    file beside the database and imported like `aw-server import` (never held in memory;
    buckets the server lacks are published as they are read), then deleted."""
    table = upload_table()
    upload_id = f"sync-{uuid.uuid4().hex[:16]}"
    if request.mimetype == "multipart/form-data":
        path, _, _ = receive_upload(table, upload_id)
        what = "the uploaded file"
    else:
        require_json_type()
        path, what = _save_body(table, upload_id), "the request body"
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
        if not head:
            raise BadRequest(f"{what} is empty; send an ActivityWatch JSON export")
        problem = what_it_is(head) or ("a database (import it with POST /api/0/import/jobs)"
                                       if head.startswith(SQLITE_MAGIC) else None)
        if problem is not None:
            raise BadRequest(f"{what} is not a valid JSON export: it looks like {problem}")
        try:
            report = api().import_file(path)
        except ImportSourceError as exc:
            raise BadRequest(f"{what} is not a valid JSON export: {exc.what}") from None
    finally:
        path.unlink(missing_ok=True)
    return json_response({
        "buckets": {r.bucket_id: {"created": r.created, "inserted": r.inserted,
                                  "skipped": r.skipped} for r in report.buckets}
    })


def _save_body(table: JobTable, upload_id: str) -> Path:
    path, handle = table.new_upload(upload_id)
    try:
        with handle:
            while chunk := request.stream.read(_BODY_CHUNK):
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


ROUTES = [
    Route("/api/0/export", ("GET",), export_all, "Every bucket with its events", "export",
          params=(_FORMAT,), response="Export"),
    Route("/api/0/buckets/<string:bucket_id>/export", ("GET",), export_bucket,
          "One bucket with its events", "export", params=(_FORMAT,), response="Export",
          statuses={404: "no such bucket"}),
    Route("/api/0/import", ("POST",), import_all,
          "Import an export (JSON body or multipart file); events already present are skipped",
          "export", body="Export", response="ImportResult",
          statuses={413: "an event is above max_event_kb: nothing is imported"}),
]
