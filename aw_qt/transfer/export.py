"""Exporting all data to a file, with progress and cancel, off the GUI thread.

The job writes to a temporary file beside the target and renames it at the end, so a
cancelled or failed export never leaves a half-written file under the chosen name.
JSON is ActivityWatch's export document (`/api/0/export`), CSV comes from
`aw_server.transfer.csv_export`. With an external server the same data is read over HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote


class ExportSource(Protocol):
    def get_buckets(self) -> dict[str, dict[str, Any]]: ...

    def count_events(self, bucket_id: str, start_us: int | None,
                     end_us: int | None) -> int: ...

    def export_chunks(self, bucket_ids: list[str] | None = None) -> Iterator[str]: ...

    def events_json(self, bucket_id: str, limit: int | None, start_us: int | None,
                    end_us: int | None) -> Iterator[str]: ...


logger = logging.getLogger(__name__)


class HttpExportSource:
    """The same four calls, answered by a server we reach over HTTP."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout

    def _get(self, path: str) -> Any:
        import requests  # only for an external server: the tray does not carry it

        response = requests.get(self.url + path, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def get_buckets(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._get("/api/0/buckets/")
        return result

    def count_events(self, bucket_id: str, start_us: int | None,
                     end_us: int | None) -> int:
        return int(self._get(f"/api/0/buckets/{quote(bucket_id, safe='')}/events/count"))

    def export_chunks(self, bucket_ids: list[str] | None = None) -> Iterator[str]:
        import requests

        with requests.get(self.url + "/api/0/export", stream=True,
                          timeout=self.timeout) as response:
            response.raise_for_status()
            yield from response.iter_content(chunk_size=256 * 1024, decode_unicode=True)

    def events_json(self, bucket_id: str, limit: int | None, start_us: int | None,
                    end_us: int | None) -> Iterator[str]:
        events = self._get(f"/api/0/buckets/{quote(bucket_id, safe='')}/events?limit=-1")
        for event in events:
            yield json.dumps(event)


class ExportCancelled(Exception):
    pass


class ExportJob:
    """Run with `start()`; read `done`, `total`, `finished`, `error` from any thread."""

    def __init__(self, source: ExportSource, path: Path, fmt: str) -> None:
        if fmt not in ("json", "csv"):
            raise ValueError(f"unknown export format {fmt!r}")
        self.source = source
        self.path = path
        self.fmt = fmt
        self.total = 0  # events
        self.done = 0
        self.error: str | None = None
        self.cancelled = False
        self.finished = threading.Event()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def check_writable(self) -> str | None:
        """A clear message when the chosen folder cannot take the file, else None."""
        folder = self.path.parent
        if not folder.is_dir():
            return f"The folder {folder} does not exist."
        if self.path.is_dir():
            return f"{self.path} is a folder; choose a file name."
        if not os.access(folder, os.W_OK) or (self.path.exists()
                                              and not os.access(self.path, os.W_OK)):
            return f"Cannot write to {self.path}: permission denied. Choose another folder."
        return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="aw-qt-export", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    def _tick(self, done: int) -> bool:
        self.done = min(done, self.total)
        return not self._cancel.is_set()

    def run(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.part")
        try:
            problem = self.check_writable()
            if problem:
                raise OSError(problem)
            buckets = self.source.get_buckets()
            self.total = sum(self.source.count_events(b, None, None) for b in buckets)
            with tmp.open("w", encoding="utf-8", newline="") as out:
                if self.fmt == "csv":
                    # Loaded on use: the tray keeps no export code while idle.
                    from aw_server.transfer.csv_export import write_csv

                    write_csv(self.source, out, progress=self._tick)
                else:
                    self._write_json(out)
            if self._cancel.is_set():
                raise ExportCancelled
            os.replace(tmp, self.path)
            self.done = self.total
            logger.info("exported %d events to %s", self.total, self.path)
        except ExportCancelled:
            self.cancelled = True
            logger.info("export to %s cancelled", self.path)
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors too
            self.error = _message(exc, self.path)
            logger.error("export failed: %s", self.error)
        except Exception as exc:
            self.error = f"Export failed: {exc}"
            logger.exception("export failed")
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
            self.finished.set()

    def _write_json(self, out: Any) -> None:
        done = 0
        for chunk in self.source.export_chunks():
            if self._cancel.is_set():
                raise ExportCancelled
            out.write(chunk)
            # Progress is approximate: every event carries exactly one "duration" key
            # at its top level; more in a chunk only makes the bar move early.
            done += chunk.count('"duration"')
            self._tick(done)


def _message(exc: Exception, path: Path) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"Cannot write to {path}: {exc.strerror}. Choose another folder."
    return str(exc) or f"Export to {path} failed"
