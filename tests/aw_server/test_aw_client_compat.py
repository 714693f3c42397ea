"""The genuine aw-client (PyPI, run from its own venv) against our real server process.

This is what every ActivityWatch watcher and script uses; if it works unchanged, users
can switch servers without touching their clients.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support.reference import run_in_reference_venv
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.reference

CLIENT_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from datetime import datetime, timedelta, timezone
    from aw_client import ActivityWatchClient
    from aw_core.models import Event

    port = int(sys.argv[1])
    out = {}
    client = ActivityWatchClient("compat-test", testing=True, port=port)
    client.client_hostname = "compat-host"
    out["info"] = client.get_info()
    bucket = "compat-bucket_compat-host"
    client.create_bucket(bucket, event_type="currentwindow")
    client.create_bucket(bucket, event_type="currentwindow")  # 304 must not raise
    out["buckets"] = sorted(client.get_buckets())
    t0 = datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)
    # Non-queued heartbeats: straight to the server.
    for i in range(5):
        client.heartbeat(bucket, Event(timestamp=t0 + timedelta(seconds=i),
                                       data={"app": "a", "title": "t"}), pulsetime=2)
    # Queued heartbeats go through aw-client's own request queue and pre-merge.
    with client:
        for i in range(5, 30):
            data = {"app": "b" if i >= 20 else "a", "title": "t"}
            client.heartbeat(bucket, Event(timestamp=t0 + timedelta(seconds=i), data=data),
                             pulsetime=2, queued=True, commit_interval=5)
        # Wait for what the server shows, not for the client's internals: the "b" event is
        # committed by the client once it is commit_interval long.
        deadline = time.time() + 60
        while time.time() < deadline:
            apps = [e.data["app"] for e in client.get_events(bucket, limit=-1)]
            if "b" in apps:
                break
            time.sleep(0.2)
    client.insert_event(bucket, Event(timestamp=t0 - timedelta(hours=1), duration=60,
                                      data={"app": "inserted", "title": "x"}))
    client.insert_events(bucket, [Event(timestamp=t0 - timedelta(hours=2), duration=30,
                                        data={"app": "bulk", "title": str(n)}) for n in range(3)])
    events = client.get_events(bucket, limit=-1)
    out["events"] = [[e.timestamp.isoformat(), e.duration.total_seconds(), e.data]
                     for e in events]
    ranged = client.get_events(bucket, start=t0 - timedelta(minutes=90),
                               end=t0 + timedelta(minutes=1))
    out["ranged"] = len(ranged)
    out["count"] = client.get_eventcount(bucket)
    out["query"] = client.query(
        'events = query_bucket("%s"); RETURN = sum_durations(events);' % bucket,
        [(t0 - timedelta(hours=3), t0 + timedelta(hours=1))])
    victim = events[-1].id
    client.delete_event(bucket, victim)
    out["after_delete"] = client.get_eventcount(bucket)
    out["export"] = sorted(client.export_bucket(bucket)["buckets"]) if hasattr(
        client, "export_bucket") else None
    client.delete_bucket(bucket, force=True)
    out["buckets_after"] = sorted(client.get_buckets())
    print(json.dumps(out))
""")


def test_aw_client_works_unchanged_against_our_server(server_process: ServerProcess,
                                                      tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg-data"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    result = run_in_reference_venv(CLIENT_SCRIPT, str(server_process.port), env=env,
                                   timeout=180)
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["info"]["testing"] is True
    assert out["buckets"] == ["compat-bucket_compat-host"]
    apps = [(e[2]["app"], e[1]) for e in out["events"]]
    # Heartbeats 0..19 (app a, one per second) merge into one 19 s event; b starts at 20 s.
    assert ("a", 19.0) in apps
    b_events = [d for app, d in apps if app == "b"]
    assert len(b_events) == 1 and 5.0 <= b_events[0] <= 9.0
    assert {app for app, _ in apps} == {"a", "b", "inserted", "bulk"}
    assert out["count"] == len(out["events"]) == 6
    assert out["ranged"] == 3  # the 60 s insert and both heartbeat events
    assert out["query"][0] == pytest.approx(60 + 3 * 30 + 19 + b_events[0])
    assert out["after_delete"] == 5
    assert out["buckets_after"] == []
