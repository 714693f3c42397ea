"""Each domain error answers with the status it always had, now chosen by the HTTP layer."""

from __future__ import annotations

import pytest

from aw_server import errors
from aw_server.datastore.sync_items import SyncGap, SyncRejected
from aw_server.errors import AWError
from aw_server.http.statuses import status_of
from aw_server.sync.errors import (
    DiscoveryUnavailable,
    KeyChanged,
    PairingClosed,
    PeerError,
    TooManyRequests,
)
from aw_server.sync.listener import PortBusy

# The statuses the classes carried themselves before the mapping moved to http/.
EXPECTED: list[tuple[AWError, int]] = [
    (AWError("x"), 500),
    (errors.BadRequest("x"), 400),
    (errors.QueryError("x"), 400),
    (errors.Unauthorized("x"), 401),
    (errors.DeleteNeedsForce("x"), 401),
    (errors.Forbidden("x"), 403),
    (errors.NotFound("x"), 404),
    (errors.NoSuchBucket("b"), 404),
    (errors.NoSuchEvent("b", 1), 404),
    (errors.BucketExists("b"), 304),
    (errors.Conflict("x"), 409),
    (errors.BucketIdTaken("x"), 409),
    (errors.PayloadTooLarge("x"), 413),
    (errors.EventTooLarge("e", 2, 1), 413),
    (errors.UnsupportedMediaType("x"), 415),
    (errors.QueryTooExpensive("x"), 503),
    (errors.StorageFull("x"), 507),
    (errors.StorageUnavailable("x"), 503),
    (SyncGap("x"), 409),
    (SyncRejected("x"), 422),
    (PeerError("x"), 502),
    (PairingClosed("x"), 410),
    (TooManyRequests("x"), 429),
    (DiscoveryUnavailable("x"), 503),
    (PortBusy("x"), 409),
    (KeyChanged("x"), 409),
]


@pytest.mark.parametrize(("error", "status"), EXPECTED, ids=lambda v: type(v).__name__)
def test_the_most_specific_class_decides_the_status(error: AWError, status: int) -> None:
    assert status_of(error) == status
