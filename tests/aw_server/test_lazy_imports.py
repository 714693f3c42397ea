"""An idle server keeps no import or export code: those modules load on first use, so
the server (in the tray's process most of all) stays small until someone imports."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SERVE_AND_EXPORT = """
import json, sys, urllib.request
from pathlib import Path
from aw_server.config import ServerConfig
from aw_server.serve import Server

def transfer_modules():
    return sorted(m for m in sys.modules if m.startswith("aw_server.transfer"))

def pool_modules():
    return sorted(m for m in ("multiprocessing", "concurrent.futures.process", "ctypes")
                  if m in sys.modules)

server = Server(ServerConfig(testing=True, port=int(sys.argv[1]), dbpath=Path(sys.argv[2])))
server.start_in_thread()
try:
    request = urllib.request.Request(
        server.url + "/api/0/buckets/" + sys.argv[3], method="POST",
        data=json.dumps({"client": "c", "type": "t", "hostname": "h"}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()
    idle = transfer_modules()
    idle_pool = pool_modules()
    with urllib.request.urlopen(server.url + "/api/0/export?format=csv", timeout=30) as answer:
        answer.read()
    query = urllib.request.Request(
        server.url + "/api/0/query/", method="POST",
        data=json.dumps({"timeperiods": ["2020-01-01T00:00:00Z/2020-01-02T00:00:00Z"],
                         "query": ["RETURN = 1;"]}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(query, timeout=60).close()
    print(json.dumps({"idle": idle, "after_export": transfer_modules(),
                      "idle_pool": idle_pool, "after_query": pool_modules()}))
finally:
    server.stop()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server(tmp_path: Path, bucket_id: str) -> dict[str, list[str]]:
    """Starts a server, creates a bucket, exports, runs a query: the modules loaded
    along the way."""
    command = [sys.executable, "-c", SERVE_AND_EXPORT, str(free_port()),
               str(tmp_path / "aw.db"), bucket_id]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_a_server_with_data_loads_export_only_when_asked(tmp_path: Path) -> None:
    run_server(tmp_path, "first")  # the first start creates the database
    loaded = run_server(tmp_path, "second")
    assert loaded["idle"] == ["aw_server.transfer", "aw_server.transfer.upload_jobs"]
    assert "aw_server.transfer.csv_stream" in loaded["after_export"]


def test_an_idle_server_loads_the_query_workers_machinery_only_for_a_query(
        tmp_path: Path) -> None:
    loaded = run_server(tmp_path, "first")
    assert loaded["idle_pool"] == []
    assert loaded["after_query"] == ["concurrent.futures.process", "multiprocessing"]
