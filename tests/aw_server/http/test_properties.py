"""Property tests: stored events read back equal; no input ever produces a 500."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient

_bucket_numbers = itertools.count()
# The server fixture is module-scoped; hypothesis cannot tell and would warn.
SHARED_FIXTURE = [HealthCheck.function_scoped_fixture]
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | \
    st.floats(allow_nan=False, allow_infinity=False, width=64)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
timestamps = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                          timezones=st.just(UTC))
events = st.fixed_dictionaries({
    "timestamp": timestamps,
    "duration": st.integers(0, 10**12).map(lambda us: us / 1_000_000),
    "data": st.dictionaries(st.text(max_size=10), json_values, max_size=5),
})


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpClient]:
    srv: Server = make_server(Path(tmp_path_factory.mktemp("prop")))
    with HttpClient(srv.url) as http:
        yield http
    srv.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=SHARED_FIXTURE)
@given(batch=st.lists(events, min_size=1, max_size=30))
def test_random_batches_read_back_equal(shared: HttpClient, batch: list[dict[str, object]]) -> None:
    bucket_id = f"prop-{next(_bucket_numbers)}"
    shared.create_bucket(bucket_id)
    wire = [{**e, "timestamp": e["timestamp"].isoformat()} for e in batch]  # type: ignore[attr-defined]
    response = shared.post(f"/api/0/buckets/{bucket_id}/events", json=wire)
    assert response.status_code == 200, response.text
    stored = shared.get(f"/api/0/buckets/{bucket_id}/events").json()
    expected = sorted(
        ((e["timestamp"], e["duration"], json.dumps(e["data"], sort_keys=True)) for e in batch),
        key=lambda t: (t[0], t[1], t[2]),
    )
    got = sorted(
        ((datetime.fromisoformat(e["timestamp"]), e["duration"],
          json.dumps(e["data"], sort_keys=True)) for e in stored),
        key=lambda t: (t[0], t[1], t[2]),
    )
    assert got == expected
    for original, back in zip(expected, got, strict=True):
        assert abs(original[0] - back[0]) < timedelta(microseconds=1)


ENDPOINTS = [
    ("POST", "/api/0/buckets/g/events"),
    ("POST", "/api/0/buckets/g/heartbeat?pulsetime=5"),
    ("POST", "/api/0/buckets/new-{n}"),
    ("PUT", "/api/0/buckets/g"),
    ("POST", "/api/0/import"),
    ("POST", "/api/0/query/"),
    ("POST", "/api/0/settings/k"),
]
garbage = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["timestamp", "duration", "data", "id", "type", "client",
                                     "hostname", "buckets", "query", "timeperiods", "events"]),
                    json_values, max_size=6).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=SHARED_FIXTURE)
@given(endpoint=st.sampled_from(ENDPOINTS), body=garbage, n=st.integers(0, 10**6),
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_garbage_bodies_never_cause_a_500(shared: HttpClient, endpoint: tuple[str, str],
                                          body: bytes, n: int, content_type: str | None) -> None:
    if shared.get("/api/0/buckets/g").status_code == 404:
        shared.create_bucket("g")
    method, path = endpoint
    headers = {"Content-Type": content_type} if content_type else {}
    response = shared.request(method, path.format(n=n), data=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert isinstance(response.json()["message"], str)
