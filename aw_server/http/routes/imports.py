"""`/api/0/import/jobs`: imports of big files in the background, with progress.

`POST /api/0/import` (transfer.py) imports a JSON document inside the request, which is
fine for one bucket but not for a year of history or a whole database: the browser would
wait minutes without a word. Here the upload is streamed to a file beside the database
(never held in memory), checked enough to refuse what cannot be an ActivityWatch file
(400 at once, not a failed job later), and handed to `ImportTask`, which runs in a thread
of this process (the one database writer) in short transactions. The answer is 202 with a
job id; `GET /api/0/import/jobs/<id>` reports phase and progress, then the result or the
error. The uploaded file is deleted when the job ends, whatever the outcome.

These routes sit in the same route table as the rest of the API, so the Host check, the
Origin check and the API key apply: a multipart POST is a "simple" request that a foreign
page could send without a preflight, and the Origin check refuses it before this module
reads a byte of the body.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import Flask, Response, current_app, request
from werkzeug.datastructures import FileStorage
from werkzeug.formparser import parse_form_data

from aw_server.api import ServerAPI
from aw_server.batches import SQLITE_MAGIC, ImportSourceError
from aw_server.errors import BadRequest, NotFound, UnsupportedMediaType
from aw_server.http.routing import Route, api, json_object_body, json_response
from aw_server.import_task import ImportTask
from aw_server.transfer.finding import find_activitywatch_databases, open_source

logger = logging.getLogger(__name__)

KEEP_FINISHED = 20  # finished jobs kept for their status; older ones are forgotten
_SNIFF_BYTES = 64
# What a wrongly chosen file usually is, so the 400 can say so instead of "not JSON".
_MAGIC = [
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"), (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
]
_FORMATS = "an ActivityWatch JSON export or an aw-server / aw-server-rust database file"


@dataclass
class Job:
    id: str
    task: ImportTask
    filename: str
    size: int
    upload: Path | None  # the temporary copy to delete; None for a found database
    created: float = field(default_factory=time.time)
    finished: bool = False

    def status(self) -> dict[str, Any]:
        raw = self.task.status()
        state = raw["state"]
        if state in ("done", "failed") and not self.finished:
            state = "running"  # "done" only once the upload is gone, so pollers can rely on it
        hidden = str(self.task.path)
        error = raw["error"]
        result = raw["report"]
        if self.upload is not None:  # users know their file by its name, not our temp name
            error = error.replace(hidden, self.filename) if error else error
            if result is not None:
                result = {**result, "source": self.filename}
        return {
            "id": self.id, "filename": self.filename, "size": self.size,
            "created": datetime.fromtimestamp(self.created, UTC).isoformat(),
            "state": state, "phase": raw["phase"], "done": raw["done"], "total": raw["total"],
            "result": result if state == "done" else None,
            "error": error if state == "failed" else None,
        }


class JobTable:
    """The jobs of one app (one server), in memory: a restarted server forgets them, and
    `ImportTask` resumes an interrupted file only when the same file is imported again."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Uploads of a server that stopped mid-import can never be resumed (nobody knows
        their temporary names), so they would only fill the disk."""
        with contextlib.suppress(OSError):
            for path in self.folder.glob(f"{self.prefix}*"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    logger.info("removed the leftover upload %s", path)

    def new_upload(self, job_id: str) -> tuple[Path, IO[bytes]]:
        path = self.folder / f"{self.prefix}{job_id}"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        return path, os.fdopen(fd, "w+b")

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.finished]
            for old in sorted(done, key=lambda j: j.created)[:-KEEP_FINISHED]:
                del self._jobs[old.id]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no import job {job_id!r} (jobs are forgotten when the server "
                           "restarts)")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)


def install_uploads(app: Flask, server_api: ServerAPI) -> None:
    """At the app's start: the uploads a stopped server left behind are removed (by the
    table), and the imports they fed, which can never resume, are taken back."""
    db_path = str(server_api.store.db.path)
    if db_path == ":memory:":
        folder, prefix = Path(tempfile.gettempdir()), f"aw-upload-{os.getpid()}-"
    else:
        folder, prefix = Path(db_path).parent, f"{Path(db_path).name}.upload-"
    app.extensions["aw_import_jobs"] = JobTable(folder, prefix)
    for source in server_api.store.drop_unresumable_imports():
        logger.info("forgot the interrupted import of %s: its file is gone", source)


def upload_table() -> JobTable:
    table: JobTable = current_app.extensions["aw_import_jobs"]
    return table


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


def _check_source(path: Path, filename: str) -> None:
    """Refuse at once what is not an ActivityWatch file, naming what it seems to be.
    Opening a database reads only its table list; JSON is checked by its first byte."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
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


def _start(table: JobTable, job_id: str, path: Path, filename: str, size: int,
           upload: Path | None) -> Job:
    job: Job | None = None

    def finished(_: dict[str, Any]) -> None:
        if upload is not None:
            try:
                upload.unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("could not delete the upload %s: %s", upload, exc)
        if job is not None:
            job.finished = True

    job = Job(job_id, ImportTask(api(), path, on_finish=finished), filename, size, upload)
    table.add(job)
    job.task.start()
    return job


def start_job() -> Response:
    table = upload_table()
    job_id = uuid.uuid4().hex[:16]
    if request.mimetype == "multipart/form-data":
        path, filename, size = receive_upload(table, job_id)
        try:
            _check_source(path, filename)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        job = _start(table, job_id, path, filename, size, upload=path)
    elif request.mimetype == "application/json":
        wanted = json_object_body().get("path")
        found = {str(p): p for p in _found()}
        if not isinstance(wanted, str) or wanted not in found:
            raise BadRequest("'path' must be one of the ActivityWatch databases listed by "
                             "GET /api/0/import/found; upload any other file", param="path")
        source = found[wanted]
        job = _start(table, job_id, source, str(source), source.stat().st_size, upload=None)
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


def _found() -> list[Path]:
    return find_activitywatch_databases(testing=api().info.testing)


def found_databases() -> Response:
    """ActivityWatch's own databases on this computer, to offer importing them in place
    (the same search the server logs at a first start)."""
    out = []
    for path in _found():
        with contextlib.suppress(OSError):
            stat = path.stat()
            out.append({
                "path": str(path),
                "kind": "aw-server-rust" if path.parent.name == "aw-server-rust" else "aw-server",
                "size": stat.st_size,
                "modified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
            })
    return json_response(out)


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
