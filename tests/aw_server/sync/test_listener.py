"""The sync listener: loopback unless the user picks an interface, remembered, moved
transactionally (a busy port is a 409 and the working listener stays); a busy default
port gives way to a free one, so two servers on one machine pair with their defaults;
junk never closes a pairing window; browser extensions never reach the sync API."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.errors import BadRequest
from aw_server.sync.pairing import RateLimit, TooManyRequests
from tests.aw_server.sync.devices import Device, start_devices
from tests.aw_server.sync.fake_peer import FakePeer
from tests.support.client import HttpClient
from tests.support.servers import free_port


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    (one,) = start_devices(tmp_path, "a")
    yield one
    one.stop()


def listen(device: Device, **body: Any) -> requests.Response:
    if body:
        return device.http.put("/api/0/sync/listen", json=body)
    return device.http.get("/api/0/sync/listen")


def answers(address: str) -> bool:
    """The sync listener at `address` answers (a bodyless pair call: 415, from it)."""
    try:
        response = requests.post(f"http://{address}/sync/v1/pair", timeout=5)
    except requests.ConnectionError:
        return False
    return response.status_code == 415 and response.json() == {"error": "json_only"}


def test_the_listener_binds_loopback_by_default_and_says_what_else_it_could(
        device: Device) -> None:
    port = free_port()
    window = device.http.post("/api/0/sync/pairing", json={"port": port}).json()
    assert window["addresses"] == [f"127.0.0.1:{port}"]
    state = listen(device).json()
    assert (state["hosts"], state["port"], state["chosen"], state["running"]) == (
        ["127.0.0.1"], port, True, True)
    labels = [c["label"] for c in state["choices"]]
    assert labels[0] == "This computer only (127.0.0.1)"
    assert labels[-1] == "Every network of this computer"


def test_a_busy_port_is_409_and_the_working_listener_stays(device: Device) -> None:
    before = device.open_pairing()["addresses"][0]
    settings = listen(device).json()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        for response in (listen(device, listen=["127.0.0.1"], port=busy),
                         device.http.post("/api/0/sync/pairing",
                                          json={"listen": ["127.0.0.1"], "port": busy})):
            assert response.status_code == 409, response.text
            message = response.json()["message"]
            assert f"port {busy}" in message and "choose another port" in message
        assert answers(before)
        assert listen(device).json() == settings
    target = free_port()
    moved = listen(device, listen=["127.0.0.1"], port=target)
    assert moved.status_code == 200 and moved.json()["addresses"] == [f"127.0.0.1:{target}"]
    assert answers(f"127.0.0.1:{target}") and not answers(before)
    device.restart()  # remembered (a peer makes it start with the server)
    assert listen(device).json()["port"] == target


def test_bad_listen_addresses_are_400(device: Device) -> None:
    for hosts in (["example.com"], [], "127.0.0.1", ["10.255.255.254"]):
        response = listen(device, listen=hosts)
        assert response.status_code == 400, (hosts, response.text)
    assert listen(device).json()["running"] is False


def write_config(base: Path, name: str, text: str) -> None:
    folder = base / name / "dirs" / "config" / "aw-server"
    folder.mkdir(parents=True)
    (folder / "aw-server.toml").write_text(text, encoding="utf-8")


def test_two_servers_on_one_machine_pair_with_default_settings(tmp_path: Path) -> None:
    """Both default to the same sync port (here a free one, set as `sync_port`, standing
    for 5601 or 5667): the second takes a free port instead of failing."""
    shared = free_port()
    for name in "ab":
        write_config(tmp_path, name, f"[server-testing]\nsync_port = {shared}\n")
    a, b = start_devices(tmp_path, "ab")
    try:
        first = a.http.post("/api/0/sync/pairing", json={}).json()
        assert first["addresses"] == [f"127.0.0.1:{shared}"]
        window = b.http.post("/api/0/sync/pairing", json={}).json()
        assert window["addresses"][0] != f"127.0.0.1:{shared}"
        response = a.http.post("/api/0/sync/pair", json={"address": window["addresses"][0],
                                                          "code": window["code"]})
        assert response.status_code == 200, response.text
        a.sync_with(b)
        assert listen(b).json()["chosen"] is False
    finally:
        a.stop()
        b.stop()


def pair_call(address: str, source: str, body: bytes, content_type: str) -> int:
    """POST /sync/v1/pair from another loopback address (the rate limit is per source)."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        conn.request("POST", "/sync/v1/pair", body=body, headers={"Content-Type": content_type})
        return conn.getresponse().status
    finally:
        conn.close()


def test_junk_from_the_network_never_closes_a_pairing_window(device: Device) -> None:
    window = device.open_pairing()
    address = window["addresses"][0]
    junk = [(b"{", "application/json"), (b"[]", "application/json"),
            (b'{"proto": 2}', "application/json"), (b"x" * 100, "text/plain"),
            (json.dumps({"proto": 2, "device_id": "x", "name": "n", "addresses": [],
                         "msg": "AAAA", "key": "AAAA"}).encode(), "application/json")]
    statuses = [pair_call(address, "127.0.0.2", *junk[i % len(junk)]) for i in range(30)]
    assert set(statuses[:10]) <= {400, 415} and set(statuses[10:]) == {429}
    wrong = "AAAA-AAAA" if window["code"] != "AAAA-AAAA" else "BBBB-BBBB"
    for _ in range(2):  # two well-formed wrong codes count: one try is left
        with pytest.raises(Exception, match="wrong code"):
            FakePeer(address, device.device_id).pair(wrong)
    FakePeer(address, device.device_id).pair(window["code"])
    assert len(device.peer_list()) == 1


def test_rate_limit_counts_per_address_within_its_window() -> None:
    now = [0.0]
    limit = RateLimit(3, 60, clock=lambda: now[0])
    for _ in range(3):
        limit.check("10.0.0.1")
    with pytest.raises(TooManyRequests):
        limit.check("10.0.0.1")
    limit.check("10.0.0.2")
    now[0] = 61
    limit.check("10.0.0.1")


@pytest.mark.parametrize("origin", ["moz-extension://3f1c-77",
                                    "chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi"])
def test_browser_extensions_may_use_the_api_but_never_sync(client: HttpClient,
                                                          origin: str) -> None:
    """aw-watcher-web's extensions are allowed origins for the API, not for sync."""
    headers = {"Origin": origin}
    assert client.get("/api/0/buckets/", headers=headers).status_code == 200
    for method, path in (("POST", "/api/0/sync/pairing"), ("GET", "/api/0/sync/peers"),
                         ("PUT", "/api/0/sync/listen"), ("POST", "/api/0/sync/now")):
        response = client.request(method, path, json={}, headers=headers)
        assert response.status_code == 403, (method, path)
        assert "browser extensions may not use device sync" in response.json()["message"]


def test_check_hosts_takes_ip_addresses_only() -> None:
    from aw_server.sync.listener import check_hosts

    assert check_hosts(["127.0.0.1", "::1", "127.0.0.1"]) == ("127.0.0.1", "::1")
    with pytest.raises(BadRequest):
        check_hosts(["localhost"])
