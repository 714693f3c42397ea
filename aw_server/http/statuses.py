"""The one mapping from domain error classes to HTTP status codes.

Domain errors (`aw_server.errors` and the few sync ones) carry no status: whether "no
such bucket" is a 404 is the HTTP layer's business. The most specific class wins, so a
subclass answers with its base's status unless it is listed itself (`NoSuchBucket` is a
404 because `NotFound` is). Anything unlisted is a 500. No web framework is imported
here, so the sync endpoint, which speaks HTTP through its own listener, answers with
the same statuses.
"""

from __future__ import annotations

from aw_server.datastore.sync_items import SyncGap, SyncRejected
from aw_server.errors import (
    AWError,
    BadRequest,
    BucketExists,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    QueryTooExpensive,
    StorageFull,
    StorageUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from aw_server.sync.errors import (
    DiscoveryUnavailable,
    KeyChanged,
    PairingClosed,
    PeerError,
    TooManyRequests,
)

STATUSES: dict[type[AWError], int] = {
    AWError: 500,
    BucketExists: 304,  # as ActivityWatch: creating an existing bucket is "not modified"
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    SyncGap: 409,
    KeyChanged: 409,
    PairingClosed: 410,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    SyncRejected: 422,
    TooManyRequests: 429,
    PeerError: 502,
    QueryTooExpensive: 503,
    StorageUnavailable: 503,
    DiscoveryUnavailable: 503,
    StorageFull: 507,
}


def status_of(error: AWError) -> int:
    """The status of the most specific listed class `error` is an instance of."""
    for cls in type(error).__mro__:
        status = STATUSES.get(cls)
        if status is not None:
            return status
    return 500
