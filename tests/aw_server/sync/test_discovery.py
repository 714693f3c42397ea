"""LAN discovery (optional `zeroconf`): a device that shows a pairing code can be picked
from a list on another device; without zeroconf the list call says so (503)."""

from __future__ import annotations

from pathlib import Path

from aw_server.sync import discovery
from tests.aw_server.sync.devices import start_devices


def test_a_device_with_an_open_window_is_listed_and_pairs_from_the_list(tmp_path: Path
                                                                         ) -> None:
    a, b = start_devices(tmp_path, "ab")
    try:
        listed = b.http.get("/api/0/sync/discover?timeout=1")
        if not discovery.available():
            assert listed.status_code == 503
            assert "zeroconf" in listed.json()["message"]
            return
        assert listed.status_code == 200 and all(
            d["device_id"] != a.device_id for d in listed.json())  # no window: not announced
        window = a.open_pairing()
        assert window["advertised"] is True
        entry = None
        for _ in range(3):  # multicast on a loaded machine may need another look
            found = b.http.get("/api/0/sync/discover?timeout=2").json()
            entry = next((d for d in found if d["device_id"] == a.device_id), None)
            if entry is not None:
                break
        assert entry is not None
        assert entry["address"] == window["addresses"][0]
        response = b.http.post("/api/0/sync/pair", json={
            "address": entry["address"], "code": window["code"],
            "listen": ["127.0.0.1"], "port": 0})
        assert response.status_code == 200, response.text
        after = b.http.get("/api/0/sync/discover?timeout=1").json()
        assert all(d["device_id"] != a.device_id for d in after)  # paired: withdrawn
    finally:
        a.stop()
        b.stop()
