"""Background imports over HTTP (`/api/0/import/jobs`) and CSV export, against a real
server: real uploads of a JSON export and of aw-server-rust databases, polled to the end."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aw_server.api import ServerAPI
from aw_server.datastore.store import Datastore
from aw_server.serve import Server
from aw_server.transfer.csv_export import read_csv
from aw_server.transfer.finding import standard_database_paths
from tests.aw_server.transfer.activitywatch_files import BUCKET, EVENTS, rust_db
from tests.support.client import HttpClient

JOBS = "/api/0/import/jobs"


def upload(client: HttpClient, name: str, content: bytes, **kwargs: Any) -> Any:
    return client.post(JOBS, files={"file": (name, content)}, **kwargs)


def wait_for(client: HttpClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen_phases = set()
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(f"{JOBS}/{job_id}").json()
        seen_phases.add(status["phase"])
        if status["state"] != "running":
            status["seen_phases"] = seen_phases
            return status
        time.sleep(0.05)
    raise AssertionError(f"import job {job_id} still running after {timeout} s")


def uploads_left(server: Server) -> list[str]:
    folder = server.config.database_path().parent
    return sorted(p.name for p in folder.iterdir() if ".upload-" in p.name)


def key(event: dict[str, Any]) -> tuple[datetime, float, str]:
    """An event without its id, its time parsed (the server writes `+00:00` for `Z`)."""
    return (datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")),
            float(event["duration"]), json.dumps(event["data"], sort_keys=True))


def stored(client: HttpClient) -> dict[str, Any]:
    """What the server holds: bucket ids and every event without its id."""
    return {bucket_id: sorted(map(key, client.get(f"/api/0/buckets/{bucket_id}/events?limit=-1")
                                  .json()))
            for bucket_id in client.get("/api/0/buckets/").json()}


def big_export(n: int = 3000) -> dict[str, Any]:
    events = [{"timestamp": f"2024-01-{1 + i // 1000:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00"
                            f".{i % 1000:03d}+00:00",
               "duration": i / 4, "data": {"app": "édïtor", "title": f"file {i}"}}
              for i in range(n)]
    return {"buckets": {"aw-watcher-window_x": {**BUCKET, "id": "aw-watcher-window_x",
                                                "events": events},
                        "b1": {**BUCKET, "events": EVENTS}}}


def test_json_export_upload_imports_every_event(client: HttpClient, server: Server) -> None:
    doc = big_export()
    started = upload(client, "my export.json", json.dumps(doc).encode())
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["Location"] == f"{JOBS}/{job['id']}"
    assert job["filename"] == "my export.json" and job["state"] == "running"

    status = wait_for(client, job["id"])
    assert status["state"] == "done", status
    result = status["result"]
    assert result["source"] == "my export.json" and result["kind"] == "json"
    assert result["inserted"] == 3003 and result["skipped"] == 0
    assert result["buckets"]["aw-watcher-window_x"] == {"created": True, "inserted": 3000,
                                                        "skipped": 0}
    assert status["done"] == status["total"] == 3003
    expected = {bid: sorted(map(key, b["events"])) for bid, b in doc["buckets"].items()}
    assert stored(client) == expected
    assert uploads_left(server) == []

    again = wait_for(client, upload(client, "again.json", json.dumps(doc).encode()).json()["id"])
    assert again["result"]["inserted"] == 0 and again["result"]["skipped"] == 3003
    assert stored(client) == expected
    listed = client.get(JOBS).json()
    assert [j["id"] for j in listed] == [job["id"], again["id"]]


def test_rust_database_upload_matches_a_direct_import(client: HttpClient, server: Server,
                                                      tmp_path: Path) -> None:
    source = tmp_path / "sqlite.db"
    rust_db(source, 5)
    status = wait_for(client, upload(client, "sqlite.db", source.read_bytes()).json()["id"])
    assert status["state"] == "done", status
    assert status["result"]["kind"] == "aw-server-rust"
    assert status["result"]["inserted"] == 100
    assert "writing" in status["seen_phases"] or status["phase"] == "writing"

    direct = ServerAPI(Datastore(tmp_path / "direct.sqlite"), hostname="h")
    try:
        direct.import_file(source)
        want = json.loads("".join(direct.export_chunks()))
    finally:
        direct.store.close()
    got = client.get("/api/0/export").json()
    assert got == want
    assert client.get("/api/0/settings/startOfWeek").json() == "Monday"
    assert uploads_left(server) == []


def other_sqlite(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize(("name", "content", "words"), [
    ("empty.json", b"", "'empty.json' is empty"),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "looks like a PNG image"),
    ("export.csv", "\ufeffbucket,timestamp,duration,app\r\n".encode(), "a CSV export"),
    ("list.json", b"[1, 2, 3]", "a list, not an export object"),
    ("notes.txt", b"hello world", "text that is not JSON"),
    ("broken.db", b"SQLite format 3\x00" + b"\x00" * 80, "'broken.db': not a readable SQLite"),
    ("other.db", None, "'other.db': a SQLite database, but not one of ActivityWatch's"),
])
def test_bad_uploads_are_refused_and_leave_nothing(client: HttpClient, server: Server,
                                                   tmp_path: Path, name: str,
                                                   content: bytes | None, words: str) -> None:
    data = other_sqlite(tmp_path / "other.db") if content is None else content
    response = upload(client, name, data)
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
    assert client.get("/api/0/buckets/").json() == {}
    assert client.get(JOBS).json() == []
    assert uploads_left(server) == []


@pytest.mark.parametrize(("kwargs", "status", "words"), [
    ({"data": {"note": "no file here"}}, 415, "multipart/form-data"),
    ({"files": {"note": (None, "a field, not a file")}}, 400, "holds no file"),
    ({"data": b'{"buckets": {}}', "headers": {"Content-Type": "text/plain"}}, 415, "text/plain"),
    ({"json": {"path": "/etc/passwd"}}, 400, "/api/0/import/found"),
    ({"data": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
     400, "multipart"),
])
def test_requests_without_an_uploaded_file_are_refused(client: HttpClient, server: Server,
                                                       kwargs: dict[str, Any], status: int,
                                                       words: str) -> None:
    response = client.post(JOBS, **kwargs)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert client.get(JOBS).json() == []
    assert uploads_left(server) == []


def test_damaged_export_fails_the_job_with_its_name(client: HttpClient, server: Server) -> None:
    body = json.dumps({"buckets": {"b1": {**BUCKET, "events": EVENTS}}}).encode()[:-40]
    started = upload(client, "cut.json", body)
    assert started.status_code == 202
    status = wait_for(client, started.json()["id"])
    assert status["state"] == "failed" and status["result"] is None
    assert status["error"].startswith("cut.json: ") and "JSON" in status["error"]
    assert ".upload-" not in status["error"]
    assert client.get("/api/0/buckets/").json() == {}
    assert uploads_left(server) == []


def test_foreign_origin_cannot_upload(client: HttpClient, server: Server) -> None:
    """A multipart POST needs no CORS preflight, so only the Origin check stops a page on
    another site from importing into this server."""
    body = json.dumps(big_export(10)).encode()
    for origin in ("http://evil.example", "null", f"http://localhost:{server.port + 1}"):
        refused = upload(client, "export.json", body, headers={"Origin": origin})
        assert refused.status_code == 403, refused.text
        assert "Access-Control-Allow-Origin" not in refused.headers
    assert client.get("/api/0/buckets/").json() == {}
    assert client.get(JOBS).json() == []
    assert uploads_left(server) == []
    # The dashboard's own origin is welcome.
    ours = upload(client, "export.json", body, headers={"Origin": server.url})
    assert ours.status_code == 202
    assert wait_for(client, ours.json()["id"])["state"] == "done"


def test_unknown_job_is_404(client: HttpClient) -> None:
    response = client.get(f"{JOBS}/nope")
    assert response.status_code == 404 and "no import job" in response.json()["message"]


def test_found_activitywatch_database_imports_in_place(client: HttpClient) -> None:
    rust = standard_database_paths(testing=True)[0]  # the autouse fixture's AW_BASE_DIR
    rust.parent.mkdir(parents=True)
    rust_db(rust, 5)
    before = hashlib.sha256(rust.read_bytes()).hexdigest()
    found = client.get("/api/0/import/found").json()
    assert [(f["path"], f["kind"]) for f in found] == [(str(rust), "aw-server-rust")]
    started = client.post(JOBS, json={"path": str(rust)})
    assert started.status_code == 202, started.text
    status = wait_for(client, started.json()["id"])
    assert status["state"] == "done" and status["result"]["inserted"] == 100
    assert rust.exists() and hashlib.sha256(rust.read_bytes()).hexdigest() == before


def test_csv_export_reads_back_exactly(client: HttpClient) -> None:
    client.post("/api/0/import", json=big_export(2500))
    whole = client.get("/api/0/export?format=csv")
    assert whole.status_code == 200
    assert whole.headers["Content-Type"].startswith("text/csv")
    assert whole.headers["Content-Disposition"] == "attachment; filename=aw-buckets-export.csv"
    rows = list(read_csv(io.StringIO(whole.content.decode("utf-8"), newline="")))
    assert len(rows) == 2503
    for bucket_id in ("aw-watcher-window_x", "b1"):
        events = client.get(f"/api/0/buckets/{bucket_id}/events?limit=-1").json()
        assert sorted(key(r) for b, r in rows if b == bucket_id) == sorted(map(key, events))
    one = client.get("/api/0/buckets/b1/export?format=csv")
    assert one.headers["Content-Disposition"] == "attachment; filename=aw-bucket-export_b1.csv"
    assert {b for b, _ in read_csv(io.StringIO(one.content.decode("utf-8"), newline=""))} \
        == {"b1"}
    assert client.get("/api/0/buckets/nope/export?format=csv").status_code == 404
    bad = client.get("/api/0/export?format=xml")
    assert bad.status_code == 400 and "'format'" in bad.json()["message"]
