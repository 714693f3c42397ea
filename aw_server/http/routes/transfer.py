"""Export (whole server or one bucket) and import, in ActivityWatch's JSON format; export
also as CSV (`?format=csv`, the same file as `aw-server export --format csv`)."""

from __future__ import annotations

import uuid

from flask import Response, request

from aw_server.errors import BadRequest
from aw_server.http.routing import (
    Param,
    Route,
    api,
    json_response,
    require_json_type,
    streamed_json,
)
from aw_server.http.upload_body import receive_upload, save_body, upload_table

_FORMAT = Param("format", "string", "'json' (default, ActivityWatch's export) or 'csv' "
                "(one row per event, a column per data key)")


def _format() -> str:
    value = request.args.get("format", "json").lower()
    if value not in ("json", "csv"):
        raise BadRequest(f"'format' must be 'json' or 'csv', got {value!r}", param="format")
    return value


def _csv_response(bucket_ids: list[str] | None, filename: str) -> Response:
    # Import and export are loaded on their first use: an idle server (the tray's) does
    # not keep their modules (tests/aw_server/test_lazy_imports.py).
    from aw_server.transfer.csv_stream import csv_chunks

    for bucket_id in bucket_ids or []:
        api().get_bucket(bucket_id)  # 404 before the 200 status line goes out
    return Response(csv_chunks(api(), bucket_ids), status=200, mimetype="text/csv",
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
    from aw_server.transfer.uploads import import_export_upload

    table = upload_table()
    upload_id = f"sync-{uuid.uuid4().hex[:16]}"
    if request.mimetype == "multipart/form-data":
        path, _, _ = receive_upload(table, upload_id)
        what = "the uploaded file"
    else:
        require_json_type()
        path, what = save_body(table, upload_id), "the request body"
    report = import_export_upload(api(), path, what)
    return json_response({
        "buckets": {r.bucket_id: {"created": r.created, "inserted": r.inserted,
                                  "skipped": r.skipped} for r in report.buckets}
    })


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
