"""Proves the reference-oracle tooling works: venv, server lifecycle, HTTP, and aw-client.

These tests are the canary for everything that compares our server with aw-server 0.12.0:
if they fail, compatibility tests elsewhere would fail for reasons unrelated to our code.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
import requests

from tests.support.reference import (
    ReferenceServer,
    find_free_port,
    reference_versions,
    run_in_reference_venv,
)
from tests.support.reference_fixtures import reference_server, reference_venv

pytestmark = pytest.mark.reference

# The fixtures are imported for pytest to discover; keep linters from pruning them.
_FIXTURES = (reference_server, reference_venv)

BUCKET = "aw-watcher-test_reference"
TIMEOUT = 10.0


def _create_bucket(base: str, bucket_id: str = BUCKET) -> requests.Response:
    return requests.post(
        f"{base}/api/0/buckets/{bucket_id}",
        json={"client": "test", "type": "test-type", "hostname": "testhost"},
        timeout=TIMEOUT,
    )


def test_venv_has_pinned_versions(reference_venv: Path) -> None:
    assert (reference_venv / "bin" / "python").exists()
    versions = reference_versions(reference_venv)
    assert versions["aw-server"] == "0.12.0"
    assert versions["aw-client"].startswith("0.5.")
    assert int(versions["peewee"].split(".")[0]) < 4
    assert versions["flask"].startswith("2.2.")


def test_server_starts_isolated(reference_server: ReferenceServer) -> None:
    assert reference_server.alive()
    assert reference_server.port not in (5600, 5666)
    assert reference_server.url == f"http://127.0.0.1:{reference_server.port}"
    info = requests.get(f"{reference_server.api_url}/info", timeout=TIMEOUT).json()
    assert info["testing"] is False
    assert set(info) == {"hostname", "version", "testing", "device_id"}
    # Everything it wrote lives under the data root, never the real home directory.
    assert reference_server.db_path.is_file()
    assert reference_server.data_root in reference_server.db_path.parents
    assert reference_server.config_path.is_file()


def test_bucket_and_heartbeat_over_http(reference_server: ReferenceServer) -> None:
    base = reference_server.url
    first = _create_bucket(base)
    assert first.status_code == 200
    assert _create_bucket(base).status_code == 304

    hb_url = f"{base}/api/0/buckets/{BUCKET}/heartbeat"
    body = {"timestamp": "2026-01-01T00:00:00+00:00", "duration": 0, "data": {"k": "v"}}
    resp = requests.post(hb_url, params={"pulsetime": 60}, json=body, timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.json()["data"] == {"k": "v"}

    body2 = {**body, "timestamp": "2026-01-01T00:00:10+00:00"}
    merged = requests.post(hb_url, params={"pulsetime": 60}, json=body2, timeout=TIMEOUT)
    assert merged.status_code == 200
    assert merged.json()["duration"] == 10.0

    events = requests.get(f"{base}/api/0/buckets/{BUCKET}/events", timeout=TIMEOUT).json()
    assert len(events) == 1
    assert events[0]["duration"] == 10.0

    # The data really went to the peewee SQLite file we expose.
    with sqlite3.connect(f"file:{reference_server.db_path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT count(*) FROM eventmodel").fetchone()
    assert rows == (1,)


_CLIENT_SCRIPT = """
import json, sys
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse
from aw_client import ActivityWatchClient
from aw_core.models import Event

url = urlparse(sys.argv[1])
client = ActivityWatchClient("aw-reimpl-test", testing=False, host=url.hostname, port=url.port)
client.create_bucket(sys.argv[2], event_type="test-type", queued=False)
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
client.insert_event(sys.argv[2], Event(timestamp=start, duration=5, data={"a": 1}))
client.heartbeat(
    sys.argv[2], Event(timestamp=start + timedelta(seconds=60), data={"a": 2}), pulsetime=10
)
events = client.get_events(sys.argv[2], limit=-1)
print(json.dumps({
    "info": client.get_info(),
    "buckets": sorted(client.get_buckets()),
    "events": [e.to_json_dict() for e in events],
}))
"""


def test_aw_client_talks_to_reference(reference_server: ReferenceServer) -> None:
    bucket = "aw-client-bucket_test"
    proc = run_in_reference_venv(_CLIENT_SCRIPT, reference_server.url, bucket, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["info"]["version"].startswith("v0.12")
    assert bucket in out["buckets"]
    # Newest first, as the server returns them.
    assert [e["data"] for e in out["events"]] == [{"a": 2}, {"a": 1}]


def test_run_in_reference_venv_is_isolated_from_our_package(reference_venv: Path) -> None:
    # cwd is the repo root here, which holds *our* aw_server; -I must hide it.
    proc = run_in_reference_venv(
        "import aw_server, sys; print(aw_server.__file__); print(sys.argv[1])",
        "x",
        venv_dir=reference_venv,
    )
    assert proc.returncode == 0, proc.stderr
    path, arg = proc.stdout.split()
    assert "site-packages" in path
    assert not path.startswith(os.getcwd() + os.sep + "aw_server")
    assert arg == "x"


def test_free_port_avoids_activitywatch_ports() -> None:
    ports = {find_free_port() for _ in range(20)}
    assert not ports & {5600, 5666}
