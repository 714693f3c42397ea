"""The heartbeat lane answers exactly as the Flask route does, and is really taken.

Two real servers on their own databases get the same requests, one with the lane and one
without it (its Flask app only); every answer must be the same, byte for byte in the body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.http.fastpath import HeartbeatLane
from aw_server.serve import Server
from tests.conftest import make_server

BUCKET = "aw-watcher-window_testhost"
UNICODE_BUCKET = "fenêtre-ü_テスト"


def _beat(second: int, title: str = "a") -> dict[str, Any]:
    return {"timestamp": f"2026-01-01T10:00:{second:02d}+00:00", "duration": 0,
            "data": {"app": "x", "title": title}}


# (path suffix, query, headers, body): a watcher's day, then every way to get it wrong.
CASES: list[tuple[str, str, dict[str, str], bytes]] = [
    (BUCKET, "pulsetime=2", {}, json.dumps(_beat(0)).encode()),
    (BUCKET, "pulsetime=2", {}, json.dumps(_beat(1)).encode()),
    (BUCKET, "pulsetime=2.5", {}, json.dumps(_beat(3, "b")).encode()),
    (BUCKET, "pulsetime=2", {"Content-Type": "application/json; charset=utf-8"},
     json.dumps(_beat(4, "b")).encode()),
    (BUCKET, "pulsetime=2&x=1", {"Content-Type": ""}, json.dumps(_beat(5, "b")).encode()),
    (UNICODE_BUCKET, "pulsetime=2", {}, json.dumps(_beat(6, "ü ✓ 😀")).encode()),
    (BUCKET, "", {}, json.dumps(_beat(7)).encode()),
    (BUCKET, "pulsetime=", {}, json.dumps(_beat(7)).encode()),
    (BUCKET, "pulsetime=abc", {}, json.dumps(_beat(7)).encode()),
    (BUCKET, "pulsetime=-1", {}, json.dumps(_beat(7)).encode()),
    (BUCKET, "pulsetime=nan", {}, json.dumps(_beat(7)).encode()),
    (BUCKET, "pulsetime=2", {}, b"{not json"),
    (BUCKET, "pulsetime=2", {}, b""),
    (BUCKET, "pulsetime=2", {}, b"[1, 2]"),
    (BUCKET, "pulsetime=2", {}, json.dumps({"timestamp": "yesterday"}).encode()),
    (BUCKET, "pulsetime=2", {"Content-Type": "text/plain"}, json.dumps(_beat(8)).encode()),
    ("no-such-bucket", "pulsetime=2", {}, json.dumps(_beat(9)).encode()),
    (BUCKET, "pulsetime=2", {"Host": "evil.example:5600"}, json.dumps(_beat(10)).encode()),
    (BUCKET, "pulsetime=2", {"Origin": "http://evil.example"}, json.dumps(_beat(11)).encode()),
    (BUCKET, "pulsetime=2", {}, b"[" * 100_000 + b"]" * 100_000),
]


def _lane_removed(server: Server) -> Server:
    lane = server.app.wsgi_app
    assert isinstance(lane, HeartbeatLane)
    server.app.wsgi_app = lane.app  # type: ignore[method-assign]
    return server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with_lane = make_server(tmp_path / "lane")
    flask_only = _lane_removed(make_server(tmp_path / "flask"))
    for server in (with_lane, flask_only):
        for bucket in (BUCKET, UNICODE_BUCKET):
            answer = requests.post(f"{server.url}/api/0/buckets/{bucket}", timeout=10,
                                   json={"type": "currentwindow", "client": "t",
                                         "hostname": "testhost"})
            assert answer.status_code == 200
    yield with_lane, flask_only
    with_lane.stop()
    flask_only.stop()


def _send(server: Server, bucket: str, query: str, headers: dict[str, str],
          body: bytes) -> requests.Response:
    sent = {"Content-Type": "application/json", **headers}
    if not sent["Content-Type"]:
        del sent["Content-Type"]
    return requests.post(f"{server.url}/api/0/buckets/{bucket}/heartbeat?{query}",
                         data=body, headers=sent, timeout=30)


def test_every_answer_equals_the_flask_routes(tmp_path: Path,
                                              servers: tuple[Server, Server]) -> None:
    with_lane, flask_only = servers
    for bucket, query, headers, body in CASES:
        ours = _send(with_lane, bucket, query, headers, body)
        theirs = _send(flask_only, bucket, query, headers, body)
        case = (bucket, query, headers, body[:40])
        assert ours.status_code == theirs.status_code, case
        assert ours.content == theirs.content, case
        assert ours.headers["Content-Type"] == theirs.headers["Content-Type"], case
        assert ours.headers.get("X-Content-Type-Options") == "nosniff", case
        assert ours.headers.get("WWW-Authenticate") == theirs.headers.get("WWW-Authenticate")
    stored = [requests.get(f"{s.url}/api/0/buckets/{b}/events", timeout=10).json()
              for s in servers for b in (BUCKET, UNICODE_BUCKET)]
    assert stored[:2] == stored[2:]
    assert len(stored[0]) == 2  # "a" 0..1 s merged, then "b"
    assert stored[0][0]["data"]["title"] == "b"


def test_a_plain_heartbeat_skips_flask_and_others_do_not(servers: tuple[Server, Server]) -> None:
    with_lane, _ = servers
    seen: list[str] = []
    flask_app = with_lane.app.wsgi_app.app  # type: ignore[attr-defined]

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    with_lane.app.wsgi_app.app = counting  # type: ignore[attr-defined]
    assert _send(with_lane, BUCKET, "pulsetime=2", {}, json.dumps(_beat(0)).encode()).ok
    assert seen == []
    assert _send(with_lane, BUCKET, "pulsetime=x", {}, json.dumps(_beat(0)).encode()
                 ).status_code == 400
    assert seen == [f"/api/0/buckets/{BUCKET}/heartbeat"]


def test_the_api_key_guards_the_lane(tmp_path: Path) -> None:
    server = make_server(tmp_path, api_key="s3cret")
    try:
        auth = {"Authorization": "Bearer s3cret"}
        made = requests.post(f"{server.url}/api/0/buckets/{BUCKET}", headers=auth, timeout=10,
                             json={"type": "t", "client": "t", "hostname": "h"})
        assert made.status_code == 200
        refused = _send(server, BUCKET, "pulsetime=2", {}, json.dumps(_beat(0)).encode())
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        events = requests.get(f"{server.url}/api/0/buckets/{BUCKET}/events", headers=auth,
                              timeout=10).json()
        assert events == []
        assert _send(server, BUCKET, "pulsetime=2", auth, json.dumps(_beat(0)).encode()).ok
    finally:
        server.stop()
