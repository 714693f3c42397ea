"""Every attack on the sync listener and the local sync API is refused with its status
code, and the database digest is unchanged afterwards (docs/sync.md §4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from aw_server.errors import Unauthorized
from aw_server.sync import crypto
from tests.aw_server.sync.devices import Device, make_bucket, start_devices
from tests.aw_server.sync.fake_peer import FakePeer, Sealed


@dataclass
class Target:
    server: Device
    peer: FakePeer


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    (server,) = start_devices(tmp_path_factory.mktemp("sec"), "a")
    try:
        make_bucket(server, "win")
        window = server.open_pairing()
        peer = FakePeer(window["addresses"][0], server.device_id)
        peer.pair(window["code"])
        yield Target(server, peer)
    finally:
        server.stop()


def refused(target: Target, sealed: Sealed, status: int, word: str | None, **tamper: object
            ) -> requests.Response:
    before = target.server.digest()
    response = target.peer.send(sealed, **tamper)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    if word is not None:
        if response.headers.get("Content-Type") == "application/x-awsync":
            assert target.peer.open_answer(sealed, response)["error"] == word
        else:
            assert response.json()["error"] == word
    assert target.server.digest() == before
    return response


def test_a_sealed_pull_works_and_is_bound_to_its_request(target: Target) -> None:
    sealed = target.peer.pull()
    response = target.peer.send(sealed)
    assert response.status_code == 200
    answer = target.peer.open_answer(sealed, response)
    assert target.server.own_log() in answer["origins"]
    # The same answer does not open for another request nonce.
    other = target.peer.pull()
    with pytest.raises(crypto.BadSeal):
        target.peer.open_answer(other, response)


def test_wrong_key_is_bad_tag(target: Target) -> None:
    stranger = crypto.PeerKeys.derive(b"k" * 32, target.peer.device_id, target.peer.server_id)
    refused(target, target.peer.seal("/sync/v1/pull", {}, keys=stranger), 401, "bad_tag")


def test_unknown_device_is_refused(target: Target) -> None:
    sealed = target.peer.seal("/sync/v1/pull", {}, sender="0000-not-paired")
    refused(target, sealed, 401, "unknown")


@pytest.mark.parametrize("offset_s", [301, -301])
def test_stale_and_future_timestamps_are_refused_with_server_time(target: Target,
                                                                  offset_s: int) -> None:
    ts = int(time.time() * 1000) + offset_s * 1000
    response = refused(target, target.peer.seal("/sync/v1/pull", {}, ts_ms=ts), 401, "clock")
    assert response.headers["Content-Type"] == "application/x-awsync"  # sealed, trustworthy


def test_timestamp_before_the_process_started_is_refused(target: Target) -> None:
    # The server started well under 200 s ago: inside the ±300 s window, before its start.
    ts = int(time.time() * 1000) - 200_000
    refused(target, target.peer.seal("/sync/v1/pull", {}, ts_ms=ts), 401, "clock")


def test_a_clock_offset_is_corrected_with_one_retry(target: Target) -> None:
    from aw_server.sync.client import RemotePeer
    from aw_server.sync.protocol import Summary

    remote = RemotePeer(target.peer.address, target.peer.device_id, target.server.device_id,
                        target.peer.key)
    remote.offset_ms = 400_000  # our clock 400 s ahead
    _, summary = remote.pull(Summary())
    assert target.server.own_log() in summary.hwms
    assert remote.requests == 2 and abs(remote.offset_ms) < 30_000


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


@pytest.mark.parametrize("how", ["byte", "last-byte", "path", "host", "direction", "truncate",
                                 "device-header", "ts-header"])
def test_tampering_is_bad_tag(target: Target, how: str) -> None:
    peer = target.peer
    if how == "direction":
        swapped = crypto.PeerKeys(peer.keys.receive, peer.keys.send)
        refused(target, peer.seal("/sync/v1/pull", {}, keys=swapped), 401, "bad_tag")
        return
    sealed = peer.pull()
    tamper: dict[str, Any] = {
        "byte": {"body": flip(sealed.body, 3)},
        "last-byte": {"body": flip(sealed.body, len(sealed.body) - 1)},
        "path": {"path": "/sync/v1/push"},
        "host": {"headers": {"Host": f"localhost:{peer.address.rsplit(':', 1)[1]}"}},
        "truncate": {"body": sealed.body[:-5]},
        "device-header": {"headers": {"X-Aws-Device": target.server.device_id}},
        "ts-header": {"headers": {"X-Aws-Ts": str(int(sealed.headers["X-Aws-Ts"]) - 1)}},
    }[how]  # type: ignore[assignment]
    word = "unknown" if how == "device-header" else "bad_tag"
    refused(target, sealed, 401, word, **tamper)


def test_replay_is_refused(target: Target) -> None:
    push = target.peer.seal("/sync/v1/push", {"origins": {}, "batches": []})
    assert target.peer.send(push).status_code == 200
    refused(target, push, 401, "replay")


def test_reflected_answer_sent_back_as_a_request_is_refused(target: Target) -> None:
    """A's answer (sealed A→peer) replayed to A as if the peer sent it."""
    sealed = target.peer.pull()
    response = target.peer.send(sealed)
    reflected = Sealed(sealed.path, {**sealed.headers,
                                     "X-Aws-Nonce": response.headers["X-Aws-Nonce"]},
                       response.content, sealed.nonce)
    refused(target, reflected, 401, "bad_tag")
    # and A's own device id as the sender is no peer of A
    as_self = target.peer.seal("/sync/v1/pull", {}, sender=target.server.device_id)
    refused(target, as_self, 401, "unknown")


def test_oversized_body_is_413_before_anything_else(target: Target) -> None:
    sealed = target.peer.pull()
    refused(target, sealed, 413, "too_large", body=b"x" * (8 * 1024 * 1024 + 1))


def test_browser_origin_is_refused_on_the_listener(target: Target) -> None:
    refused(target, target.peer.pull(), 403, "browser_origin",
            headers={"Origin": "http://evil.test"})


def test_listener_serves_nothing_but_sync(target: Target) -> None:
    base = f"http://{target.peer.address}"
    for path in ("/", "/api/0/info", "/api/0/buckets/", "/static/index.html", "/sync/v1/x"):
        assert requests.get(base + path, timeout=10).status_code == 404
        assert requests.post(base + path, timeout=10).status_code == 404


def test_forged_host_on_the_main_api_is_400(target: Target) -> None:
    before = target.server.digest()
    for path, method in (("/api/0/sync/peers", "GET"), ("/api/0/sync/now", "POST"),
                         ("/api/0/sync/pairing", "POST")):
        response = target.server.http.request(method, path, json={},
                                              headers={"Host": "evil.test"})
        assert response.status_code == 400
    assert target.server.digest() == before


@pytest.mark.parametrize("path", ["/api/0/sync/pair", "/api/0/sync/pairing", "/api/0/sync/now"])
def test_local_api_takes_json_only(target: Target, path: str) -> None:
    before = target.server.digest()
    response = target.server.http.post(path, data='{"address":"127.0.0.1:1","code":"AAAA-AAAA"}',
                                       headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert target.server.digest() == before


def test_local_api_refuses_a_foreign_origin(target: Target) -> None:
    before = target.server.digest()
    response = target.server.http.post("/api/0/sync/pairing", json={},
                                       headers={"Origin": "http://evil.test"})
    assert response.status_code == 403
    assert target.server.digest() == before


def test_revoked_peer_gets_a_sealed_revoked(tmp_path_factory: pytest.TempPathFactory) -> None:
    (server,) = start_devices(tmp_path_factory.mktemp("rev"), "r")
    try:
        window = server.open_pairing()
        peer = FakePeer(window["addresses"][0], server.device_id)
        peer.pair(window["code"])
        response = server.http.delete(f"/api/0/sync/peers/{peer.device_id}", json={})
        assert response.status_code == 200, response.text
        assert server.peer_list()[0]["state"] == "revoked"
        target = Target(server, peer)
        refused(target, peer.pull(), 401, "revoked")  # opens with the old key
    finally:
        server.stop()


def test_pairing_window_closes_after_three_wrong_codes_and_codes_do_not_repeat(
        target: Target) -> None:
    server = target.server
    window = server.open_pairing()
    before = server.digest()
    wrong = "AAAA-AAAA" if window["code"] != "AAAA-AAAA" else "BBBB-BBBB"
    for _ in range(3):
        guesser = FakePeer(window["addresses"][0], server.device_id)
        with pytest.raises(Unauthorized):
            guesser.pair(wrong)  # the answer's MAC does not verify: wrong code
    late = FakePeer(window["addresses"][0], server.device_id)
    with pytest.raises(AssertionError, match="PairingClosed"):
        late.pair(window["code"])  # the right code, too late: the window is closed
    assert server.digest() == before
    fresh = server.open_pairing()
    assert fresh["code"] != window["code"]
    FakePeer(fresh["addresses"][0], server.device_id).pair(fresh["code"])
    reuse = FakePeer(fresh["addresses"][0], server.device_id)
    with pytest.raises(AssertionError, match="PairingClosed"):
        reuse.pair(fresh["code"])  # a used code is gone with its window


def test_wrong_code_through_the_local_api_is_401_and_stores_nothing(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    a, b = start_devices(tmp_path_factory.mktemp("wrong"), "ab")
    try:
        window = b.open_pairing()
        wrong = "AAAA-AAAA" if window["code"] != "AAAA-AAAA" else "BBBB-BBBB"
        before = (a.digest(), b.digest())
        response = a.http.post("/api/0/sync/pair", json={
            "address": window["addresses"][0], "code": wrong,
            "listen": ["127.0.0.1"], "port": 0})
        assert response.status_code == 401, response.text
        assert (a.digest(), b.digest()) == before
        assert a.peer_list() == [] and b.peer_list() == []
    finally:
        a.stop()
        b.stop()


def test_replay_after_a_restart_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    (server,) = start_devices(tmp_path_factory.mktemp("replay"), "r")
    try:
        window = server.open_pairing()
        peer = FakePeer(window["addresses"][0], server.device_id)
        peer.pair(window["code"])
        push = peer.seal("/sync/v1/push", {"origins": {}, "batches": []})
        assert peer.send(push).status_code == 200
        server.restart()
        refused(Target(server, peer), push, 401, "clock")
    finally:
        server.stop()
