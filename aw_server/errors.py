"""Typed domain errors: a class says what went wrong, its message says it to a person.

Nothing here knows about HTTP: the HTTP layer maps each class to its status code in one
place (`aw_server/http/statuses.py`), so the domain, the tray and sync raise and catch
the same classes without caring how a web client will be answered. `error_type` is the
word clients see in an error body.
"""

from __future__ import annotations


class AWError(Exception):
    """Base of every error meant for a user or client: it carries a clear message."""

    error_type = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(AWError):
    error_type = "BadRequest"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class Unauthorized(AWError):
    error_type = "Unauthorized"


class DeleteNeedsForce(Unauthorized):
    """aw-server answers 401 to a bucket delete without `?force=1`; clients rely on it."""

    error_type = "DeleteBucketUnauthorized"


class Forbidden(AWError):
    error_type = "Forbidden"


class NotFound(AWError):
    error_type = "NotFound"


class NoSuchBucket(NotFound):
    error_type = "NoSuchBucket"

    def __init__(self, bucket_id: str) -> None:
        super().__init__(f"The requested bucket '{bucket_id}' does not exist")
        self.bucket_id = bucket_id


class NoSuchEvent(NotFound):
    error_type = "NoSuchEvent"

    def __init__(self, bucket_id: str, event_id: int) -> None:
        super().__init__(f"The event {event_id} does not exist in bucket '{bucket_id}'")


class BucketExists(AWError):
    """ActivityWatch answers 304 when a bucket that already exists is created again."""

    error_type = "BucketExists"

    def __init__(self, bucket_id: str) -> None:
        super().__init__(f"Bucket '{bucket_id}' already exists")


class Conflict(AWError):
    error_type = "Conflict"


class BucketIdTaken(Conflict):
    """A bucket id that a mirror of another device holds (or held): creating an own
    bucket there would hand one row to two writers."""

    error_type = "BucketIdTaken"


class PayloadTooLarge(AWError):
    error_type = "PayloadTooLarge"


class EventTooLarge(PayloadTooLarge):
    """An event (or bucket metadata) above the per-event size limit: one such row would
    not fit in a sync batch, so it is refused at every entry instead of stalling sync."""

    error_type = "EventTooLarge"

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"{what} is {describe_size(size)} as JSON, above the limit of "
            f"{describe_size(limit)} per event (max_event_kb in aw-server.toml)")
        self.size = size
        self.limit = limit


def describe_size(n: int) -> str:
    """Sizes as people read them: "12.0 MiB", "1 MiB", "700 bytes"."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MiB" if value.is_integer() else f"{value:.1f} MiB"
    if n >= 1024:
        value = n / 1024
        return f"{value:.0f} KiB" if value.is_integer() else f"{value:.1f} KiB"
    return f"{n} bytes"


class UnsupportedMediaType(AWError):
    error_type = "UnsupportedMediaType"


class QueryError(BadRequest):
    """A query program that cannot run; `line`/`column` point into the joined source."""

    error_type = "QueryException"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None and column is not None else ""
        super().__init__(where + message)
        self.line = line
        self.column = column


class QueryTooExpensive(AWError):
    """A query that hit its time or memory budget; retrying with a smaller range may work."""

    error_type = "QueryTooExpensive"


class StorageFull(AWError):
    error_type = "InsufficientStorage"


class StorageUnavailable(AWError):
    error_type = "StorageUnavailable"
