"""Export (whole server or one bucket) and import, in ActivityWatch's JSON format."""

from __future__ import annotations

import json

from flask import Response, request

from aw_server.errors import BadRequest
from aw_server.http.routing import Route, api, json_body, json_response, streamed_json


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename={filename}"}


def export_all() -> Response:
    return streamed_json(api().export_chunks(), _attachment("aw-buckets-export.json"))


def export_bucket(bucket_id: str) -> Response:
    chunks = api().export_chunks([bucket_id])
    return streamed_json(chunks, _attachment(f"aw-bucket-export_{bucket_id}.json"))


def import_all() -> Response:
    if request.mimetype == "multipart/form-data":
        files = list(request.files.values())
        if not files:
            raise BadRequest("the multipart upload holds no file; attach the export as a file")
        try:
            document = json.load(files[0].stream)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise BadRequest(f"the uploaded file is not a valid JSON export: {exc}") from None
    else:
        document = json_body()
    results = api().import_document(document)
    return json_response({
        "buckets": {r.bucket_id: {"created": r.created, "inserted": r.inserted,
                                  "skipped": r.skipped} for r in results}
    })


ROUTES = [
    Route("/api/0/export", ("GET",), export_all, "Every bucket with its events", "export",
          response="Export"),
    Route("/api/0/buckets/<string:bucket_id>/export", ("GET",), export_bucket,
          "One bucket with its events", "export", response="Export",
          statuses={404: "no such bucket"}),
    Route("/api/0/import", ("POST",), import_all,
          "Import an export (JSON body or multipart file); events already present are skipped",
          "export", body="Export", response="ImportResult"),
]
