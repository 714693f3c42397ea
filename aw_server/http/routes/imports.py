"""`/api/0/import/jobs`: imports of big files in the background, with progress.

`POST /api/0/import/jobs` answers 202 with a job id at once; `GET
/api/0/import/jobs/<id>` reports phase and progress, then the result or the error. The
jobs themselves are `aw_server.transfer.upload_jobs`; here the request is parsed, the
job table called, and its answer serialized.

These routes sit in the same route table as the rest of the API, so the Host check, the
Origin check and the API key apply: a multipart POST is a "simple" request that a foreign
page could send without a preflight, and the Origin check refuses it before this module
reads a byte of the body.
"""

from __future__ import annotations

from flask import Response, request

from aw_server.errors import UnsupportedMediaType
from aw_server.http.routing import Route, api, json_object_body, json_response
from aw_server.http.upload_body import receive_upload, upload_table
from aw_server.transfer.upload_jobs import new_job_id


def start_job() -> Response:
    table = upload_table()
    job_id = new_job_id()
    if request.mimetype == "multipart/form-data":
        path, filename, size = receive_upload(table, job_id)
        job = table.start_upload(job_id, path, filename, size)
    elif request.mimetype == "application/json":
        job = table.start_found(job_id, json_object_body().get("path"))
    else:
        raise UnsupportedMediaType(
            "upload the file as multipart/form-data (or send JSON {\"path\": ...} naming a "
            f"database from /api/0/import/found), not '{request.mimetype or 'no body'}'")
    return json_response(job.status(), 202,
                         {"Location": f"/api/0/import/jobs/{job.id}"})


def job_status(job_id: str) -> Response:
    return json_response(upload_table().get(job_id).status())


def list_jobs() -> Response:
    return json_response([job.status() for job in upload_table().all()])


def found_databases() -> Response:
    """ActivityWatch's own databases on this computer, to offer importing them in place
    (the same search the server logs at a first start). Loaded here, on first use, like
    the rest of import: an idle server does not keep it."""
    from aw_server.transfer.uploads import found_databases as found_on_disk

    return json_response(found_on_disk(testing=api().info.testing))


ROUTES = [
    Route("/api/0/import/jobs", ("POST",), start_job,
          "Start importing an uploaded export or database file (multipart/form-data) in the "
          "background; answers 202 with the job", "export",
          statuses={202: "the import started; poll the job", 413: "the file is too large",
                    415: "not multipart/form-data or JSON"}),
    Route("/api/0/import/jobs", ("GET",), list_jobs,
          "Import jobs of this server run (running and recently finished)", "export"),
    Route("/api/0/import/jobs/<string:job_id>", ("GET",), job_status,
          "An import job: state, phase, progress, then result or error", "export",
          statuses={404: "no such job"}),
    Route("/api/0/import/found", ("GET",), found_databases,
          "ActivityWatch databases found in their standard places on this computer", "export"),
]
