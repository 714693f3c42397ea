"""Imports of big files in the background, with progress: the jobs behind
`/api/0/import/jobs`.

`POST /api/0/import` imports a JSON document inside the request, which is fine for one
bucket but not for a year of history or a whole database: the browser would wait
minutes without a word. A job instead takes an upload streamed to a file beside the
database (never held in memory), checked enough to refuse what cannot be an
ActivityWatch file (`uploads.check_source`), and hands it to `ImportTask`, which runs in
a thread of this process (the one database writer) in short transactions. The uploaded
file is deleted when the job ends, whatever the outcome.

The table is only built with the app; `recover()`, called by the server when it starts,
removes what a stopped server left behind. The import itself (readers, checks, the task)
is imported when a job starts: the table is part of every server, imports are rare.
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
from typing import IO, TYPE_CHECKING, Any

from aw_server.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from aw_server.api import ServerAPI
    from aw_server.transfer.import_task import ImportTask

logger = logging.getLogger(__name__)

KEEP_FINISHED = 20  # finished jobs kept for their status; older ones are forgotten


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


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


class JobTable:
    """The jobs of one server, in memory: a restarted server forgets them, and
    `ImportTask` resumes an interrupted file only when the same file is imported again.
    Uploads are written beside the database as `<db>.upload-<id>` (in the temporary
    folder for an in-memory database), so a big one needs no second disk."""

    def __init__(self, api: ServerAPI) -> None:
        self.api = api
        db_path = str(api.store.db.path)
        if db_path == ":memory:":
            self.folder, self.prefix = Path(tempfile.gettempdir()), f"aw-upload-{os.getpid()}-"
        else:
            self.folder, self.prefix = Path(db_path).parent, f"{Path(db_path).name}.upload-"
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def recover(self) -> None:
        """At the server's start: the uploads a stopped server left behind can never be
        resumed (nobody knows their temporary names), so they would only fill the disk;
        they are removed, and the imports they fed are taken back."""
        with contextlib.suppress(OSError):
            for path in self.folder.glob(f"{self.prefix}*"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    logger.info("removed the leftover upload %s", path)
        for source in self.api.store.imports.drop_unresumable():
            logger.info("forgot the interrupted import of %s: its file is gone", source)

    def new_upload(self, job_id: str) -> tuple[Path, IO[bytes]]:
        """A new file for an upload, readable by this user only."""
        path = self.folder / f"{self.prefix}{job_id}"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        return path, os.fdopen(fd, "w+b")

    def start_upload(self, job_id: str, path: Path, filename: str, size: int) -> Job:
        """Check the uploaded file and import it in the background; a refused file is
        deleted at once."""
        from aw_server.transfer.uploads import check_source

        try:
            check_source(path, filename)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return self._start(job_id, path, filename, size, upload=path)

    def start_found(self, job_id: str, wanted: object) -> Job:
        """Import in place one of the databases `find_activitywatch_databases` lists;
        nothing else on disk can be named this way."""
        from aw_server.transfer.finding import find_activitywatch_databases

        found = {str(p): p for p in find_activitywatch_databases(testing=self.api.info.testing)}
        if not isinstance(wanted, str) or wanted not in found:
            raise BadRequest("'path' must be one of the ActivityWatch databases listed by "
                             "GET /api/0/import/found; upload any other file", param="path")
        source = found[wanted]
        return self._start(job_id, source, str(source), source.stat().st_size, upload=None)

    def _start(self, job_id: str, path: Path, filename: str, size: int,
               upload: Path | None) -> Job:
        from aw_server.transfer.import_task import ImportTask

        job: Job | None = None

        def finished(_: dict[str, Any]) -> None:
            if upload is not None:
                try:
                    upload.unlink(missing_ok=True)
                except OSError as exc:
                    logger.warning("could not delete the upload %s: %s", upload, exc)
            if job is not None:
                job.finished = True

        job = Job(job_id, ImportTask(self.api, path, on_finish=finished), filename, size,
                  upload)
        self._add(job)
        job.task.start()
        return job

    def _add(self, job: Job) -> None:
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
