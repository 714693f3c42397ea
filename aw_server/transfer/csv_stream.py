"""The CSV export as a stream of byte chunks, for a response that sends it as it comes.

`write_csv` is a writer (two passes over the events, never all of them in memory); here
it runs in a thread of its own and writes into a small queue the consumer reads, so a
big export streams with bounded memory. When the consumer stops reading (the client
went away), the writer stops at its next write.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TextIO, cast

from aw_server.transfer.csv_export import EventSource, write_csv

CHUNK_CHARS = 64 * 1024
_QUEUED_CHUNKS = 8


class _Cancelled(Exception):
    """The consumer went away: stop writing the CSV."""


class _QueueWriter:
    """What `write_csv` writes to: text gathered into chunks of about `CHUNK_CHARS` and
    handed to the consumer through a small queue."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None],
                 cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK_CHARS:
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


def csv_chunks(source: EventSource, bucket_ids: list[str] | None) -> Iterator[bytes]:
    """UTF-8 chunks of `write_csv(source, bucket_ids=...)`; an error of the writer is
    raised from the iterator, and closing the iterator early stops the writer."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=_QUEUED_CHUNKS)
    cancelled = threading.Event()
    sink = _QueueWriter(chunks, cancelled)

    def produce() -> None:
        try:
            write_csv(source, cast(TextIO, sink), bucket_ids=bucket_ids)
            sink.flush()
            sink.put(None)
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the consumer, which ends the stream
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
