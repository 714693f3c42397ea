"""Settings keep any JSON value under ActivityWatch's keys."""

from __future__ import annotations

import json

import pytest

from tests.support.client import HttpClient

CLASSES = [{"name": ["Work", "Programming"], "rule": {"type": "regex", "regex": "vim|code"}}]


@pytest.mark.parametrize("value", [CLASSES, "04:00", False, 0, "", None, {"a": [1, 2]}])
def test_set_get_round_trip(client: HttpClient, value: object) -> None:
    response = client.post("/api/0/settings/key", data=json.dumps(value),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json() == value
    assert client.get("/api/0/settings/key").json() == value
    assert client.get("/api/0/settings").json() == {"key": value}


def test_unset_key_is_null_and_delete_removes(client: HttpClient) -> None:
    assert client.get("/api/0/settings/missing").json() is None
    client.post("/api/0/settings/theme", json="dark")
    assert client.delete("/api/0/settings/theme").status_code == 200
    assert client.get("/api/0/settings").json() == {}


def test_overlong_key_and_bad_body_are_400(client: HttpClient) -> None:
    assert client.post("/api/0/settings/" + "k" * 200, json=1).status_code == 400
    response = client.post("/api/0/settings/k", data=b"{oops",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.get("/api/0/settings").json() == {}
