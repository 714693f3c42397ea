"""Importing ActivityWatch's own files: a database written by the real aw-server 0.12.0,
aw-server-rust databases of every schema version, and JSON exports of every shape."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.api import ServerAPI
from aw_server.batches import ImportSourceError
from aw_server.datastore.store import Datastore
from tests.aw_server.transfer.activitywatch_files import BUCKET, EVENTS, rust_db
from tests.support.reference import ReferenceServer


def export_of(api: ServerAPI) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads("".join(api.export_chunks()))
    return doc


def events_by_bucket(doc: dict[str, Any]) -> dict[str, list[tuple[str, float, str]]]:
    return {
        bid: sorted((e["timestamp"], round(e["duration"], 6), json.dumps(e["data"], sort_keys=True))
                    for e in b["events"])
        for bid, b in doc["buckets"].items()
    }


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file()}


@pytest.fixture
def api(tmp_path: Path) -> Any:
    store = Datastore(tmp_path / "ours.sqlite")
    yield ServerAPI(store, hostname="testhost")
    store.close()


# -- aw-server 0.12.0, the real program ------------------------------------------------
def fill_reference(url: str) -> None:
    http = requests.Session()
    for b in range(12):
        bid = f"aw-watcher-{b}_hôst"
        r = http.post(f"{url}/api/0/buckets/{bid}",
                      json={"client": "c", "type": "currentwindow", "hostname": "hôst"})
        assert r.status_code == 200
        events = [
            {"timestamp": f"2024-0{1 + b % 9}-0{1 + i % 9}T{i % 24:02d}:{i % 60:02d}:0{i % 10}"
                          f".{(i * 37) % 1000:03d}+00:00",
             "duration": 0 if i % 7 == 0 else i * 1.25,
             "data": {"app": "édïtor ✓ 日本", "title": f"file {i}", "i": i,
                      "nested": {"k": [1, 2, {"x": None}]}, "flag": i % 2 == 0}}
            for i in range(120)
        ]
        events.append({"timestamp": "2024-05-05T05:05:05+00:00", "duration": 1,
                       "data": {f"key{k}": "v" * 50 for k in range(300)}})
        r = http.post(f"{url}/api/0/buckets/{bid}/events", json=events)
        assert r.status_code == 200
    http.post(f"{url}/api/0/buckets/empty", json={"client": "c", "type": "t", "hostname": "h"})


def test_database_of_the_real_aw_server_imports_exactly(reference_server: ReferenceServer,
                                                        api: ServerAPI) -> None:
    fill_reference(reference_server.url)
    theirs = requests.get(f"{reference_server.url}/api/0/export", timeout=30).json()
    buckets = requests.get(f"{reference_server.url}/api/0/buckets/", timeout=30).json()
    reference_server.stop()
    source_dir = reference_server.db_path.parent
    before = digest(source_dir)

    report = api.import_file(reference_server.db_path)

    assert report.kind == "aw-server"
    assert digest(source_dir) == before, "the source must not be modified"
    ours = export_of(api)
    assert sorted(ours["buckets"]) == sorted(theirs["buckets"])
    for bid, bucket in theirs["buckets"].items():
        for key in ("type", "client", "hostname", "created", "data"):
            assert ours["buckets"][bid][key] == bucket[key], (bid, key)
        assert buckets[bid]["created"] == ours["buckets"][bid]["created"]
    assert events_by_bucket(ours) == events_by_bucket(theirs)
    assert report.inserted == 12 * 121

    again = api.import_file(reference_server.db_path)
    assert again.inserted == 0 and again.skipped == 12 * 121


# -- aw-server-rust, built from its published schema -----------------------------------
@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_every_rust_schema_version_imports(tmp_path: Path, api: ServerAPI, version: int) -> None:
    path = tmp_path / "aw-server-rust" / "sqlite.db"
    path.parent.mkdir()
    rust_db(path, version)
    before = digest(path.parent)
    report = api.import_file(path)
    assert digest(path.parent) == before
    assert report.kind == "aw-server-rust" and report.inserted == 100
    doc = export_of(api)
    bucket = doc["buckets"]["aw-watcher-window_r0"]
    assert bucket["created"] == "2023-02-03T04:05:06.123456+00:00"
    assert doc["buckets"]["aw-watcher-window_r1"]["created"] == "2023-02-03T04:05:06+00:00"
    assert bucket["data"] == ({"device_id": "d-1"} if version >= 2 else {})
    oldest = min(bucket["events"], key=lambda e: e["timestamp"])
    assert oldest == {"timestamp": "2023-11-14T22:13:20.123456+00:00", "duration": 0.0,
                      "data": {"app": "ünï", "title": "t0"}}
    longest = max(bucket["events"], key=lambda e: e["duration"])
    assert longest["duration"] == 49.0  # ns truncated to µs at both ends
    settings = api.get_settings()
    if version >= 4:
        assert settings == {"startOfDay": "04:00", "startOfWeek": "Monday", "showYearly": False,
                            "classes": [{"name": ["Work"],
                                         "rule": {"type": "regex", "regex": "vim"}}]}
        assert sorted(report.settings_added) == sorted(settings)
    else:
        assert settings == {}
    assert api.import_file(path).inserted == 0


def test_settings_we_have_are_kept(tmp_path: Path, api: ServerAPI) -> None:
    path = tmp_path / "sqlite.db"
    rust_db(path, 5)
    api.set_setting("startOfDay", "06:00")
    report = api.import_file(path)
    assert report.settings_kept == ["startOfDay"]
    assert api.get_setting("startOfDay") == "06:00"
    assert api.get_setting("startOfWeek") == "Monday"


# -- JSON exports ----------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["dict", "list", "events-first", "no-ids"])
def test_json_export_shapes(tmp_path: Path, api: ServerAPI, shape: str) -> None:
    events = [{k: v for k, v in e.items() if k != "id"} for e in EVENTS] \
        if shape == "no-ids" else EVENTS
    bucket = {**BUCKET, "events": events}
    if shape == "events-first":
        bucket = {"events": events, **BUCKET}
    doc = {"buckets": [bucket] if shape == "list" else {"b1": bucket}}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    report = api.import_file(path)
    assert report.inserted == 3  # the exact duplicate in the file arrives twice
    got = export_of(api)["buckets"]["b1"]
    assert got["data"] == {"x": 1} and got["created"] == BUCKET["created"]
    assert sorted(e["timestamp"] for e in got["events"]) == [
        "2020-01-01T00:00:00+00:00", "2020-01-01T00:00:01+00:00", "2020-01-01T00:00:01+00:00"]
    assert api.import_file(path).inserted == 0


def test_export_import_round_trip_is_identity(tmp_path: Path, api: ServerAPI) -> None:
    # Threes of events share a timestamp: the export lists them newest id first, and
    # the import must give them back their order (the export's order of ties shows it).
    api.create_bucket("b", {"type": "t", "client": "c", "hostname": "h", "data": {"k": "v"}})
    api.create_events("b", [{"timestamp": f"2024-01-01T00:00:{i // 3:02d}.5Z", "duration": 1,
                             "data": {"n": i, "s": "日本 ✓ \ud800"}} for i in range(60)])
    api.set_setting("startOfDay", "05:00")
    path = tmp_path / "backup.json"
    path.write_text("".join(api.export_chunks(include_settings=True)), encoding="utf-8")
    fresh = ServerAPI(Datastore(tmp_path / "fresh.sqlite"))
    try:
        fresh.import_file(path)
        assert export_of(fresh) == export_of(api)
        assert fresh.get_settings() == {"startOfDay": "05:00"}
    finally:
        fresh.store.close()


def test_import_into_a_bucket_with_events_merges(tmp_path: Path, api: ServerAPI) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"buckets": {"b1": {**BUCKET, "events": EVENTS}}}))
    api.create_bucket("b1", {"type": "t", "client": "c", "hostname": "h"})
    api.create_events("b1", [{"timestamp": "2020-01-01T00:00:00+00:00", "duration": 1.5,
                              "data": {"a": "é"}},
                             {"timestamp": "2021-01-01T00:00:00Z", "data": {}}])
    report = api.import_file(path)
    assert (report.inserted, report.skipped) == (2, 1)
    assert api.count_events("b1", None, None) == 4


@pytest.mark.parametrize(("content", "what"), [
    (b"", "empty"),
    (b'{"buckets": {"b1": {"type": "t", "client": "c", "hostname": "h", "events": [{"time',
     "not valid JSON"),
    (b'{"buckets": {"b1": {"type": "t", "client": "c", "hostname": "h", "events": '
     b'[{"timestamp": "2020-01-01T00:00:00Z",}, {"timestamp": "2020-01-01T00:00:00Z"}]}}}',
     "not valid JSON at character"),
    (b'{"buckets": {}} trailing', "unexpected data"),
    (b"[1, 2]", "top level"),
    (b'{"other": 1}', "no 'buckets'"),
    (b'{"buckets": {"b1": {"client": "c", "hostname": "h", "events": []}}}', "'type'"),
    (b'{"buckets": {"b1": {"type": "t", "client": "c", "hostname": "h", '
     b'"events": [{"timestamp": "yesterday"}]}}}', "unparsable timestamp"),
    (b"SQLite format 3\x00" + b"\x00" * 50, "not a readable SQLite"),
])
def test_damaged_sources_are_refused_and_leave_nothing(tmp_path: Path, api: ServerAPI,
                                                       content: bytes, what: str) -> None:
    path = tmp_path / "damaged.json"
    # Big enough that the damage comes after staged batches were already committed.
    if content.startswith(b'{"buckets": {"b1": {"type": "t", "client": "c", "hostname": "h"'):
        good = ", ".join(json.dumps({"timestamp": "2020-01-01T00:00:00Z", "data": {"i": i}})
                         for i in range(3000))
        content = content.replace(b'"events": [', b'"events": [' + good.encode() + b", ")
    path.write_bytes(content)
    api.store.imports.read_batch = 1000
    with pytest.raises(ImportSourceError) as info:
        api.import_file(path)
    assert str(path) in str(info.value) and what in str(info.value)
    assert api.store.buckets.ids() == []
    assert api.store.imports.unfinished() == []
    assert not list(tmp_path.glob("ours.sqlite.import-*"))


def test_truncated_database_is_refused(tmp_path: Path, api: ServerAPI) -> None:
    path = tmp_path / "sqlite.db"
    rust_db(path, 5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportSourceError) as info:
        api.import_file(path)
    assert str(path) in str(info.value)
    assert api.store.buckets.ids() == []


def test_interrupted_import_resumes_without_duplicates(tmp_path: Path, api: ServerAPI) -> None:
    path = tmp_path / "sqlite.db"
    rust_db(path, 5)
    api.store.imports.read_batch = 7
    api.store.imports.publish_window = 5
    calls = {"n": 0}

    def crash_at(limit: int) -> Any:
        def progress(phase: str, done: int, total: int | None) -> None:
            calls["n"] += 1
            if calls["n"] == limit:
                raise KeyboardInterrupt
        return progress

    with pytest.raises(KeyboardInterrupt):
        api.import_file(path, progress=crash_at(5))  # while reading
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        api.import_file(path, progress=crash_at(20))  # while publishing
    assert api.store.imports.unfinished()
    report = api.import_file(path)
    assert report.resumed
    clean = ServerAPI(Datastore(tmp_path / "clean.sqlite"))
    try:
        clean.import_file(path)
        assert export_of(api) == export_of(clean)
    finally:
        clean.store.close()
    assert api.store.imports.unfinished() == []


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_json_reader_across_tiny_buffers_and_odd_spacing(tmp_path: Path, api: ServerAPI,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         chunk: int) -> None:
    from aw_server.transfer import json_export_source

    events = [{"timestamp": f"2020-01-01T00:00:{i:02d}.{i:03d}Z", "duration": i * 1.5 + 0.25,
               "data": {"t": "é" * i, "n": 10**i}} for i in range(30)]
    events.append({"timestamp": "2020-01-02T00:00:00+02:00", "duration": 12345678})
    doc = {"settings": {"k": [1, {"x": "y"}]}, "buckets": {"b": {**BUCKET, "id": "b",
                                                                 "events": events}}}
    pretty = tmp_path / "pretty.json"
    pretty.write_text("\ufeff" + json.dumps(doc, indent=3, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(json_export_source, "_CHUNK", chunk)
    report = api.import_file(pretty)
    assert report.inserted == 31
    got = export_of(api)["buckets"]["b"]["events"]
    assert {e["duration"] for e in got} == {e.get("duration", 0) for e in events}
    assert api.get_settings() == {"k": [1, {"x": "y"}]}
