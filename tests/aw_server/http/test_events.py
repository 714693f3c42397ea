"""Event endpoints over real HTTP."""

from __future__ import annotations

import pytest

from tests.support.client import HttpClient

EV = "/api/0/buckets/b/events"


@pytest.fixture
def bucket(client: HttpClient) -> HttpClient:
    client.create_bucket("b")
    return client


def ev(ts: str, duration: float = 0, **data: object) -> dict[str, object]:
    return {"timestamp": ts, "duration": duration, "data": data}


def test_post_single_event_echoes_it_with_id(bucket: HttpClient) -> None:
    response = bucket.post(EV, json=ev("2024-01-01T10:00:00.123456Z", 1.5, app="x"))
    assert response.status_code == 200
    assert response.json() == {"id": 1, "timestamp": "2024-01-01T10:00:00.123456+00:00",
                               "duration": 1.5, "data": {"app": "x"}}


def test_post_list_answers_the_inserted_events_and_stores_all(bucket: HttpClient) -> None:
    response = bucket.post(EV, json=[ev("2024-01-01T10:00:00Z"), ev("2024-01-01T11:00:00Z")])
    assert response.status_code == 200
    assert [(e["id"], e["timestamp"]) for e in response.json()] == [
        (1, "2024-01-01T10:00:00+00:00"), (2, "2024-01-01T11:00:00+00:00")]
    assert bucket.get(EV + "/count").json() == 2


def test_get_events_newest_first_with_exact_bodies(bucket: HttpClient) -> None:
    bucket.post(EV, json=[ev("2024-01-01T10:00:00Z", 60, app="a"),
                          ev("2024-01-01T12:30:00+02:00", 30, app="b")])
    assert bucket.get(EV).json() == [
        {"id": 2, "timestamp": "2024-01-01T10:30:00+00:00", "duration": 30.0,
         "data": {"app": "b"}},
        {"id": 1, "timestamp": "2024-01-01T10:00:00+00:00", "duration": 60.0,
         "data": {"app": "a"}},
    ]


def test_naive_timestamps_are_utc(bucket: HttpClient) -> None:
    bucket.post(EV, json=ev("2024-03-01T08:00:00"))
    assert bucket.get(EV).json()[0]["timestamp"] == "2024-03-01T08:00:00+00:00"


def test_get_events_limit_start_end(bucket: HttpClient) -> None:
    bucket.post(EV, json=[ev(f"2024-01-01T10:0{i}:00Z", 60, i=i) for i in range(5)])
    assert [e["data"]["i"] for e in bucket.get(EV, params={"limit": 2}).json()] == [4, 3]
    assert len(bucket.get(EV, params={"limit": -1}).json()) == 5
    clipped = bucket.get(EV, params={"start": "2024-01-01T10:01:30+00:00",
                                     "end": "2024-01-01T10:02:30+00:00"}).json()
    assert [(e["data"]["i"], e["timestamp"], e["duration"]) for e in clipped] == [
        (2, "2024-01-01T10:02:00+00:00", 30.0),
        (1, "2024-01-01T10:01:30+00:00", 30.0),
    ]


def test_unencoded_plus_in_query_timestamp_is_understood(bucket: HttpClient) -> None:
    bucket.post(EV, json=ev("2024-01-01T10:00:00Z", 60))
    url = EV + "?start=2024-01-01T09:00:00+00:00&end=2024-01-01T11:00:00+00:00"
    assert len(bucket.get(url).json()) == 1


def test_get_and_delete_single_event(bucket: HttpClient) -> None:
    event_id = bucket.post(EV, json=ev("2024-01-01T10:00:00Z", 1, a=1)).json()["id"]
    assert bucket.get(f"{EV}/{event_id}").json()["data"] == {"a": 1}
    assert bucket.delete(f"{EV}/{event_id}").json() == {"success": True}
    assert bucket.get(f"{EV}/{event_id}").status_code == 404
    assert bucket.delete(f"{EV}/{event_id}").json() == {"success": False}


@pytest.mark.parametrize("event_id", ["99999999999999999999", str(2**63)])
def test_an_id_no_event_can_have_is_404_and_deletes_nothing(bucket: HttpClient,
                                                             event_id: str) -> None:
    # Ids beyond 64 bits used to reach SQLite and fail with OverflowError (500).
    bucket.post(EV, json=ev("2024-01-01T10:00:00Z", 1, a=1))
    for method in (bucket.get, bucket.delete):
        response = method(f"{EV}/{event_id}")
        assert response.status_code == 404, response.text
        assert event_id in response.json()["message"]
    assert bucket.get(EV + "/count").json() == 1


def test_limit_beyond_64_bits_means_all(bucket: HttpClient) -> None:
    bucket.post(EV, json=[ev("2024-01-01T10:00:00Z"), ev("2024-01-01T11:00:00Z")])
    for limit in ("99999999999999999999", "-99999999999999999999"):
        assert len(bucket.get(EV, params={"limit": limit}).json()) == 2


def test_event_with_stored_id_replaces_it(bucket: HttpClient) -> None:
    event_id = bucket.post(EV, json=ev("2024-01-01T10:00:00Z", 1, a=1)).json()["id"]
    bucket.post(EV, json=[{"id": event_id, **ev("2024-01-01T10:00:00Z", 9, a=2)}])
    assert bucket.get(EV).json() == [{"id": event_id, "timestamp": "2024-01-01T10:00:00+00:00",
                                      "duration": 9.0, "data": {"a": 2}}]


def test_event_with_an_id_no_event_can_have_is_inserted_as_new(bucket: HttpClient) -> None:
    # As any unknown id (it used to fail in SQLite with OverflowError: 500).
    for event_id in (2**64, -(2**64), 2**63 - 1):
        response = bucket.post(EV, json={"id": event_id, **ev("2024-01-01T10:00:00Z", 1)})
        assert response.status_code == 200, response.text
        assert response.json()["id"] not in (event_id, None)
    assert bucket.get(EV + "/count").json() == 3


def test_heartbeats_merge_and_answer_the_merged_event(bucket: HttpClient) -> None:
    hb = "/api/0/buckets/b/heartbeat?pulsetime=10"
    bucket.post(hb, json=ev("2024-01-01T10:00:00Z", 0, app="x"))
    merged = bucket.post(hb, json=ev("2024-01-01T10:00:05Z", 1, app="x")).json()
    assert merged == {"id": 1, "timestamp": "2024-01-01T10:00:00+00:00", "duration": 6.0,
                      "data": {"app": "x"}}
    switched = bucket.post(hb, json=ev("2024-01-01T10:00:06Z", 0, app="y")).json()
    assert switched["id"] == 2 and switched["data"] == {"app": "y"}
    assert bucket.get(EV + "/count").json() == 2


@pytest.mark.parametrize(("path", "body", "fragment"), [
    ("/api/0/buckets/b/heartbeat", ev("2024-01-01T10:00:00Z"), "pulsetime"),
    ("/api/0/buckets/b/heartbeat?pulsetime=abc", ev("2024-01-01T10:00:00Z"), "pulsetime"),
    ("/api/0/buckets/b/heartbeat?pulsetime=-1", ev("2024-01-01T10:00:00Z"), "pulsetime"),
    ("/api/0/buckets/b/heartbeat?pulsetime=1", {"duration": 1}, "timestamp"),
    (EV, {"timestamp": "yesterday"}, "timestamp"),
    (EV, {"timestamp": 12345}, "timestamp"),
    (EV, ev("2024-01-01T10:00:00Z", -5), "negative"),
    (EV, {"timestamp": "2024-01-01T10:00:00Z", "duration": "5"}, "duration"),
    (EV, {"timestamp": "2024-01-01T10:00:00Z", "data": [1]}, "data"),
    (EV, [ev("2024-01-01T10:00:00Z"), "nope"], "object"),
    (EV, "just a string", "object"),
])
def test_bad_events_are_400_and_store_nothing(bucket: HttpClient, path: str, body: object,
                                              fragment: str) -> None:
    response = bucket.post(path, json=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]
    assert bucket.get(EV + "/count").json() == 0


def test_bad_range_parameters_are_400(bucket: HttpClient) -> None:
    assert bucket.get(EV, params={"start": "garbage"}).status_code == 400
    assert bucket.get(EV, params={"limit": "many"}).status_code == 400
    response = bucket.get(EV, params={"start": "2024-01-02T00:00:00Z",
                                      "end": "2024-01-01T00:00:00Z"})
    assert response.status_code == 400
