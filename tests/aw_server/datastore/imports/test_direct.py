"""Publishing straight from the source (`direct.py`) gives what staging gives, resumes
without duplicates, and takes back what it published when the source proves damaged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aw_server.api import ServerAPI
from aw_server.batches import Batch, ImportSourceError, SourceBucket
from aw_server.datastore.imports import staging as staging_module
from aw_server.datastore.imports.direct import (
    DirectBroken,
    DirectBucket,
    DirectPlanner,
    DirectState,
    insert_events,
)
from aw_server.datastore.imports.store import ImportStore
from aw_server.datastore.schema import SCHEMA_VERSION
from aw_server.datastore.store import Datastore
from aw_server.transfer import json_export_source
from aw_server.transfer.finding import import_file

META = {"created": "2020-01-01T00:00:00+00:00", "name": None, "type": "t", "client": "c",
        "hostname": "h", "data": {"k": "v"}}
PLAIN = {"type": "t", "client": "c", "hostname": "h"}  # a bucket created through the API


def _events(stamps: list[int], tag: str = "") -> list[dict[str, Any]]:
    return [{"timestamp": datetime.fromtimestamp(s, UTC).isoformat(), "duration": s % 3 * 0.5,
             "data": {"s": s, "tag": tag, "é": "✓" * (s % 3)}} for s in stamps]


def _export(path: Path, buckets: dict[str, list[dict[str, Any]]], tail: str = "") -> Path:
    """An export as ActivityWatch writes it (description first, then the events);
    `tail` is appended inside the buckets object, to damage the file after them."""
    body = ", ".join(json.dumps(b) + ": " + json.dumps({"id": b, **META, "events": events})
                     for b, events in buckets.items())
    path.write_text('{"buckets": {' + body + tail + "}}", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def short_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of a few events, so that batches of 7 are cut where the test expects."""
    monkeypatch.setattr(json_export_source, "_RUN", 300)


@pytest.fixture
def open_api(tmp_path: Path) -> Iterator[Callable[..., ServerAPI]]:
    stores: list[Datastore] = []

    def make(name: str = "ours", *, direct: bool = True, batch: int = 7) -> ServerAPI:
        store = Datastore(tmp_path / f"{name}.sqlite")
        store.imports.direct_publish = direct
        store.imports.read_batch = batch
        store.imports.publish_window = 5
        stores.append(store)
        return ServerAPI(store, hostname="h")

    yield make
    for store in stores:
        store.close()


def _events_in_order(api: ServerAPI) -> dict[str, list[tuple[int, int, str]]]:
    """Each bucket's events as a client sees them, newest first, ties by id."""
    conn = api.store.db.conn()
    out: dict[str, list[tuple[int, int, str]]] = {}
    for bucket_id in api.store.buckets.ids():
        out[bucket_id] = conn.execute(
            "SELECT e.start, e.end, d.text FROM event e JOIN event_data d ON d.id = e.data_id "
            "JOIN bucket b ON b.key = e.bucket "
            "WHERE b.id = ? AND b.deleted = 0 ORDER BY e.start DESC, e.id DESC",
            (bucket_id,)).fetchall()
    return out


def _count_direct_parts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = ImportStore._publish_direct

    def counting(self: ImportStore, job: Any, parts: Any, cursor: str) -> None:
        calls.append(sum(part.count for part in parts))
        original(self, job, parts, cursor)

    monkeypatch.setattr(ImportStore, "_publish_direct", counting)
    return calls


# Newest first (as exported), oldest first, and runs of equal starts either way, some
# of them across batch edges (batches of 7).
ORDERS = {
    "newest first": [s for s in range(100, 40, -1)],
    "oldest first": list(range(40, 100)),
    "newest first with ties": [100 - i // 4 for i in range(60)],
    "oldest first with ties": [40 + i // 5 for i in range(60)],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_direct_publishing_equals_staging(tmp_path: Path, open_api: Callable[..., ServerAPI],
                                          monkeypatch: pytest.MonkeyPatch, order: str) -> None:
    stamps = ORDERS[order]
    path = _export(tmp_path / "e.json", {"a": _events(stamps, "a"),
                                         "b": _events(stamps[::3], "b"), "empty": []})
    calls = _count_direct_parts(monkeypatch)
    direct = open_api("direct")
    report = import_file(direct.store, path)
    assert calls, "the direct path was not taken"
    staged = open_api("staged", direct=False)
    assert import_file(staged.store, path).buckets == report.buckets
    assert _events_in_order(direct) == _events_in_order(staged)
    assert json.loads("".join(direct.export_chunks())) == \
        json.loads("".join(staged.export_chunks()))
    # Ids follow time order, ties as the file lists them (newest id first).
    conn = direct.store.db.conn()
    ids = [r[0] for r in conn.execute(
        "SELECT e.id FROM event e JOIN bucket b ON b.key = e.bucket WHERE b.id = 'a' "
        "ORDER BY e.start, e.id")]
    assert ids == sorted(ids)
    assert import_file(direct.store, path).inserted == 0  # the second time, through staging


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "staged"])
def test_imported_buckets_are_listed_in_the_files_order(
        tmp_path: Path, open_api: Callable[..., ServerAPI], direct: bool) -> None:
    """As ActivityWatch's import creates them: after the buckets already there."""
    path = _export(tmp_path / "e.json", {"window_z": _events(list(range(30, 0, -1))),
                                         "afk_a": _events(list(range(20, 0, -1))),
                                         "m": _events([3, 2, 1])})
    api = open_api(direct=direct)
    api.create_bucket("there", PLAIN)
    import_file(api.store, path)
    assert api.store.buckets.ids() == ["there", "window_z", "afk_a", "m"]


def test_an_existing_bucket_is_merged_through_staging_beside_direct_ones(
        tmp_path: Path, open_api: Callable[..., ServerAPI],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _export(tmp_path / "e.json", {"new": _events(list(range(30, 0, -1))),
                                         "old": _events(list(range(30, 0, -1)))})
    calls = _count_direct_parts(monkeypatch)
    api = open_api()
    api.create_bucket("old", PLAIN)
    api.create_events("old", _events([5, 6, 7]))
    report = import_file(api.store, path)
    assert {r.bucket_id: (r.created, r.inserted, r.skipped) for r in report.buckets} == {
        "new": (True, 30, 0), "old": (False, 27, 3)}
    assert sum(calls) == 30  # "new" only
    assert len(_events_in_order(api)["old"]) == 30


def test_damage_after_direct_publishing_takes_it_back(
        tmp_path: Path, open_api: Callable[..., ServerAPI],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _export(tmp_path / "e.json", {"a": _events(list(range(200, 100, -1)))},
                   tail=', "b": {"type": "t", "events": [{"timestamp": "yesterday"}]}')
    calls = _count_direct_parts(monkeypatch)
    api = open_api()
    with pytest.raises(ImportSourceError, match="unparsable timestamp"):
        import_file(api.store, path)
    assert sum(calls) >= 90  # bucket "a" had been published (all but what was read last)
    assert api.store.buckets.ids() == []
    assert api.store.imports.unfinished() == []
    conn = api.store.db.conn()
    assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == 0
    # The bucket stays as a tombstone, so a device that synced it meanwhile drops it.
    assert conn.execute("SELECT deleted FROM bucket WHERE id = 'a'").fetchone()[0] == 1
    assert not list(tmp_path.glob("ours.sqlite.import-*"))


def test_taking_back_keeps_what_others_wrote_to_the_bucket_meanwhile(
        tmp_path: Path, open_api: Callable[..., ServerAPI],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _export(tmp_path / "e.json", {"a": _events(list(range(200, 100, -1)))},
                   tail=', "b": {"type": "t", "events": [{"timestamp": "yesterday"}]}')
    calls = _count_direct_parts(monkeypatch)
    api = open_api()
    seen = {"n": 0}

    def watcher_writes(phase: str, done: int, total: int | None) -> None:
        # From the third batch on, the first batch's direct part is committed (the
        # writer takes one batch at a time), so the bucket exists.
        seen["n"] += 1
        if seen["n"] == 3:
            api.create_events("a", [{"timestamp": "2030-01-01T00:00:00Z", "duration": 1,
                                     "data": {"from": "watcher"}}])

    with pytest.raises(ImportSourceError):
        import_file(api.store, path, progress=watcher_writes)
    assert api.store.buckets.ids() == ["a"]
    assert [json.loads(r[2]) for r in _events_in_order(api)["a"]] == [{"from": "watcher"}]
    # Each removed event has a tombstone, for devices that synced it meanwhile.
    conn = api.store.db.conn()
    assert conn.execute("SELECT count(*) FROM tombstone").fetchone()[0] == sum(calls) > 90


def test_events_out_of_order_are_read_again_through_staging(
        tmp_path: Path, open_api: Callable[..., ServerAPI],
        monkeypatch: pytest.MonkeyPatch) -> None:
    stamps = [*range(100, 50, -1), 75, *range(50, 30, -1)]  # one event out of place
    path = _export(tmp_path / "e.json", {"a": _events(stamps), "b": _events([3, 2, 1])})
    calls = _count_direct_parts(monkeypatch)
    api = open_api()
    report = import_file(api.store, path)
    assert calls  # it began directly
    assert {r.bucket_id: (r.created, r.inserted) for r in report.buckets} == {
        "a": (True, 71), "b": (True, 3)}
    staged = open_api("staged", direct=False)
    import_file(staged.store, path)
    assert _events_in_order(api) == _events_in_order(staged)


def _no_fallback(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records each time direct publishing is taken back (for damage or a fallback): the
    order checks would also catch a replayed batch, and hide a fault of the resuming."""
    calls: list[bool] = []
    original = ImportStore._roll_back_direct

    def recording(self: ImportStore, job: Any, *, enabled: bool) -> None:
        if job.direct.buckets:
            calls.append(enabled)
        original(self, job, enabled=enabled)

    monkeypatch.setattr(ImportStore, "_roll_back_direct", recording)
    return calls


def test_a_bucket_created_meanwhile_is_merged_through_staging(
        tmp_path: Path, open_api: Callable[..., ServerAPI],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A watcher creates the bucket between the decision to publish it directly and the
    # transaction that would create it.
    path = _export(tmp_path / "e.json", {"a": _events(list(range(90, 30, -1))),
                                         "b": _events(list(range(90, 30, -1)))})
    api = open_api()
    original = ImportStore._publish_direct

    def watcher_first(self: ImportStore, job: Any, parts: Any, cursor: str) -> None:
        if any(p.bucket_id == "b" and p.new for p in parts) and "b" not in api.store.buckets.ids():
            api.create_bucket("b", {"type": "w", "client": "c", "hostname": "h"})
            api.create_events("b", _events([60]))
        original(self, job, parts, cursor)

    monkeypatch.setattr(ImportStore, "_publish_direct", watcher_first)
    report = import_file(api.store, path)
    assert {r.bucket_id: (r.created, r.inserted, r.skipped) for r in report.buckets} == {
        "a": (True, 60, 0), "b": (False, 59, 1)}
    assert api.store.buckets.get("b").type == "w"
    staged = open_api("staged", direct=False)
    import_file(staged.store, path)
    ours = _events_in_order(api)
    assert ours["a"] == _events_in_order(staged)["a"] and len(ours["b"]) == 60


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("stop_at", [1, 2, 4, 8, 12])
def test_interrupted_direct_import_resumes_without_duplicates(
        tmp_path: Path, open_api: Callable[..., ServerAPI], monkeypatch: pytest.MonkeyPatch,
        stop_at: int, newest_first: bool) -> None:
    stamps = list(range(300, 220, -1)) if newest_first else list(range(220, 300))
    rolled_back = _no_fallback(monkeypatch)
    path = _export(tmp_path / "e.json", {"a": _events(stamps), "b": _events(stamps[::2])})
    api = open_api()
    seen = {"n": 0}

    def stop(phase: str, done: int, total: int | None) -> None:
        seen["n"] += 1
        if seen["n"] == stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(api.store, path, progress=stop)
    api.store.close()
    # As after a restart: a new event elsewhere must not take an id the import keeps.
    again = open_api()
    again.create_bucket("other", PLAIN)
    again.create_events("other", _events([1, 2, 3]))
    report = import_file(again.store, path)
    assert report.resumed
    clean = open_api("clean")
    import_file(clean.store, path)
    ours = _events_in_order(again)
    assert ours.pop("other")
    assert ours == _events_in_order(clean)
    assert again.store.imports.unfinished() == []
    assert rolled_back == []


def test_a_batch_published_directly_but_not_staged_is_not_published_twice(
        tmp_path: Path, open_api: Callable[..., ServerAPI],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The process dies between the two commits of a batch: the database has its direct
    # part, the staging file not its staged part nor its cursor.
    path = _export(tmp_path / "e.json", {"a": _events(list(range(90, 30, -1))),
                                         "b": _events(list(range(90, 30, -2)))})
    rolled_back = _no_fallback(monkeypatch)
    api = open_api()
    api.create_bucket("b", PLAIN)  # staged
    original = staging_module.Staging.write
    writes = {"n": 0}

    def dies_on_fourth(self: staging_module.Staging, prepared: Any) -> None:
        writes["n"] += 1
        if writes["n"] == 4:
            raise KeyboardInterrupt
        original(self, prepared)

    with monkeypatch.context() as patch:
        patch.setattr(staging_module.Staging, "write", dies_on_fourth)
        with pytest.raises(KeyboardInterrupt):
            import_file(api.store, path)
    report = import_file(api.store, path)
    assert report.resumed
    assert {r.bucket_id: r.inserted for r in report.buckets} == {"a": 60, "b": 30}
    assert rolled_back == []
    clean = open_api("clean")
    clean.create_bucket("b", PLAIN)
    import_file(clean.store, path)
    assert _events_in_order(api) == _events_in_order(clean)


def _interrupt_after_first_batch(api: ServerAPI, path: Path) -> None:
    """Ctrl-C once the first batch is read (its direct part is written before the
    import stops: the writer finishes the batch it holds)."""
    def stop(phase: str, done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(api.store, path, progress=stop)


def test_a_source_changed_midway_takes_back_the_unfinished_direct_part(
        tmp_path: Path, open_api: Callable[..., ServerAPI]) -> None:
    path = _export(tmp_path / "e.json", {"a": _events(list(range(90, 30, -1)))})
    api = open_api()
    _interrupt_after_first_batch(api, path)
    _export(path, {"a": _events(list(range(90, 60, -1)), "changed")})
    import_file(api.store, path)
    got = _events_in_order(api)["a"]
    assert len(got) == 30 and all(json.loads(r[2])["tag"] == "changed" for r in got)


def test_an_import_whose_file_is_gone_is_forgotten_and_taken_back(
        tmp_path: Path, open_api: Callable[..., ServerAPI]) -> None:
    # An upload that a stopped server left: the file is removed at the next start, so the
    # import can never resume, and what it published directly must not stay half done.
    path = _export(tmp_path / "upload", {"a": _events(list(range(90, 30, -1)))})
    api = open_api()
    _interrupt_after_first_batch(api, path)
    assert api.store.buckets.ids() == ["a"]  # published directly, partly
    assert api.store.imports.drop_unresumable() == []  # its file is still there
    path.unlink()
    assert api.store.imports.drop_unresumable() == [str(path)]
    assert api.store.buckets.ids() == [] and api.store.imports.unfinished() == []
    assert not list(tmp_path.glob("ours.sqlite.import-*"))


# -- the planner alone ------------------------------------------------------------------
def _batch(cursor: str, *events: tuple[str, int]) -> Batch:
    described = [SourceBucket(b, "t", "c", "h", "2020-01-01T00:00:00+00:00")
                 for b in sorted({b for b, _ in events})]
    return Batch(described, [(b, s, s + 1, "{}") for b, s in events], cursor, 0)


def test_planner_stages_buckets_it_may_not_create() -> None:
    planner = DirectPlanner(DirectState(), "descending", lambda b: b != "exists", None)
    staged, parts = planner.split(_batch("1", ("exists", 5), ("new", 5), ("exists", 4)), 100)
    assert staged == [("exists", 5, 6, "{}"), ("exists", 4, 5, "{}")]
    assert [(p.bucket_id, p.count, p.descending) for p in parts] == [("new", 1, True)]
    assert parts[0].new is not None and parts[0].capacity == 100


def test_planner_refuses_order_breaks_and_overflows() -> None:
    planner = DirectPlanner(DirectState(), "descending", lambda b: True, None)
    planner.split(_batch("1", ("a", 9), ("a", 8)), 3)
    with pytest.raises(DirectBroken, match="time order"):
        planner.split(_batch("2", ("a", 8), ("a", 9)), 3)
    planner = DirectPlanner(DirectState(), "descending", lambda b: True, None)
    planner.split(_batch("1", ("a", 9), ("a", 8)), 3)
    with pytest.raises(DirectBroken, match="id block"):
        planner.split(_batch("2", ("a", 7), ("a", 6)), 3)


def test_planner_skips_the_direct_part_the_database_already_has() -> None:
    # Batch "2" was published directly before an interruption; the staging file lacks it.
    state = DirectState(True, "2", {"a": DirectBucket(1, 10, 19, False, 2, 2)})
    planner = DirectPlanner(state, "ascending", lambda b: True, "2")
    staged, parts = planner.split(_batch("2", ("a", 1), ("b", 1), ("a", 2)), 10)
    assert (staged, parts) == ([("b", 1, 2, "{}")], [])  # "b" was staged, as before
    staged, parts = planner.split(_batch("3", ("a", 3), ("c", 1)), 10)
    assert staged == [] and [(p.bucket_id, p.new is None) for p in parts] == [
        ("a", True), ("c", False)]


def test_direct_state_round_trips_through_its_column(tmp_path: Path) -> None:
    store = Datastore(tmp_path / "db.sqlite")
    try:
        conn = store.db.conn()
        columns = {r[1]: r[4] for r in conn.execute("PRAGMA table_info(import_job)")}
        assert columns["direct"] == "'{}'"
    finally:
        store.close()
    state = DirectState.from_json("{}")
    assert state.enabled and state.cursor is None and state.buckets == {}
    assert DirectState.from_json(state.to_json()) == state
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# Texts a stored `data` may hold, NULs and escapes included (JSON functions would cut a
# string at a NUL; bound parameters keep it).
_TEXTS = ["{}", '{"app": "\u65e5\u672c\u8a9e \u2713"}', "a\x00b", '{"k": "\\u0000"}',
          '"\\""', "\u2028\x7f", "x" * 5000]


@pytest.mark.parametrize("parameter_limit", [None, 999])
@pytest.mark.parametrize("count", [0, 1, 1023, 1024, 1025, 2900])
def test_inserted_events_are_stored_exactly_with_their_ids(
        tmp_path: Path, count: int, parameter_limit: int | None) -> None:
    store = Datastore(tmp_path / "db.sqlite")
    try:
        conn = store.db.conn()
        if parameter_limit is not None:  # as SQLite before 3.32 allowed
            conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, parameter_limit)
        rows = [("ignored", 10 * i - 2**62, 10 * i - 2**62 + i % 7, _TEXTS[i % len(_TEXTS)])
                for i in range(count)]
        with store.db.write() as write:
            insert_events(write, rows, 5000, 900, 3, 2, 70_000, store.db.data)
        got = conn.execute("SELECT e.id, bucket, start, end, d.text, origin, origin_id, seq "
                           "FROM event e JOIN event_data d ON d.id = e.data_id "
                           "ORDER BY e.id").fetchall()
        assert got == [(5000 + i, 3, start, end, text, 2, 900 + i, 70_000 + i)
                       for i, (_, start, end, text) in enumerate(rows)]
    finally:
        store.close()


def test_origin_ids_of_an_import_name_each_event_once_beside_later_events(
        tmp_path: Path, open_api: Callable[..., ServerAPI]) -> None:
    # Origin ids come from the bottom of the block, in insertion order, not from the ids.
    path = _export(tmp_path / "e.json", {"a": _events(list(range(100, 40, -1)))})
    api = open_api()
    import_file(api.store, path)
    api.create_events("a", _events([200, 201]))
    api.create_bucket("other", PLAIN)
    api.create_events("other", _events([1, 2, 3]))
    conn = api.store.db.conn()
    rows = conn.execute("SELECT id, origin, coalesce(origin_id, id) FROM event ORDER BY id"
                        ).fetchall()
    assert len({(origin, origin_id) for _, origin, origin_id in rows}) == len(rows) == 65
    imported = conn.execute("SELECT id, coalesce(origin_id, id) FROM event WHERE start < ? "
                            "ORDER BY seq",
                            (200 * 1_000_000,)).fetchall()
    assert [o for _, o in imported] == sorted(o for _, o in imported)  # in insertion order
    doomed, doomed_origin_id = imported[0]
    assert api.delete_event("a", doomed)
    assert conn.execute("SELECT count(*) FROM tombstone WHERE origin_id = ?",
                        (doomed_origin_id,)).fetchone()[0] == 1
