"""Sync's libraries load only once sync is used, and a paired server loads them at start.

Run in a fresh interpreter: this test process has imported everything long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, sys
from pathlib import Path
import requests
from aw_server.config import ServerConfig
from aw_server.serve import Server

HEAVY = ("cryptography", "spake2", "zeroconf")
server = Server(ServerConfig(testing=True, port=0, dbpath=Path(sys.argv[1]), hostname="h"))
server.start_in_thread()
requests.get(server.url + "/api/0/info", timeout=10).raise_for_status()
report = {"at_start": [m for m in HEAVY if m in sys.modules]}
if sys.argv[2] == "use":
    opened = requests.post(server.url + "/api/0/sync/pairing", json={}, timeout=30)
    report["pairing_status"] = opened.status_code
    report["after_use"] = [m for m in HEAVY if m in sys.modules]
server.stop()
print(json.dumps(report))
"""


def _probe(db: Path, mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(db), mode], capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_unpaired_server_starts_without_the_sync_libraries(tmp_path: Path) -> None:
    report = _probe(tmp_path / "db.sqlite", "idle")
    assert report["at_start"] == []


def test_the_sync_api_loads_sync_on_first_call(tmp_path: Path) -> None:
    report = _probe(tmp_path / "db.sqlite", "use")
    assert report["at_start"] == []
    assert report["pairing_status"] == 200
    assert "cryptography" in report["after_use"]  # type: ignore[operator]
