"""The fast paths of file import give exactly what the general paths give.

- JSON: orjson decodes runs of events and encodes `data` (`loads_exact`,
  `fast_stored_json`, `fast_rows`); the general path decodes one event at a time with
  `json` and encodes with `rows.dump_json`.
- Timestamps: `parse_time_text` measures the time in one C call.
- Publishing: a window the bucket has no events in goes in by one INSERT ... SELECT;
  the general path compares and inserts rows from Python.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aw_server.api import ServerAPI
from aw_server.batches import ImportSourceError, StagedEvent
from aw_server.datastore.imports.publisher import Publisher
from aw_server.datastore.rows import dump_json
from aw_server.datastore.store import Datastore
from aw_server.models import MAX_US, MIN_US
from aw_server.transfer import json_export_source
from aw_server.transfer.finding import import_file
from aw_server.transfer.json_export_source import JsonExportSource
from aw_server.transfer.source_values import (
    fast_stored_json,
    loads_exact,
    parse_time_text,
    stored_json,
)

# -- values ------------------------------------------------------------------------------
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_ODD_TEXT = st.sampled_from(["}", "}, {", '"}, {"timestamp": "x"}', "\\", "\x00", "\x7f",
                             "\u2028", "日本語 ✓", "e-5", "0.00001", "\ud800", "a\udfffb"])
_FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1e16, 1e-5, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 1e22, 123456.789])
_INTS = st.integers(-(2**70), 2**70) | st.sampled_from([2**63 - 1, -(2**63), 2**64, 10**19])
_LEAVES = st.none() | st.booleans() | _INTS | _FLOATS | _TEXT | _ODD_TEXT
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_TEXT | _ODD_TEXT, inner, max_size=4), max_leaves=20)
_DATA = st.dictionaries(_TEXT | _ODD_TEXT, _VALUES, max_size=6)


def _dumps_any(value: Any, ascii_only: bool, spaced: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only,
                      separators=(", ", ": ") if spaced else (",", ":"))


@settings(max_examples=400, deadline=None)
@given(_DATA, st.booleans(), st.booleans())
def test_loads_exact_and_its_encoder_equal_json_and_dump_json(data: dict[str, Any],
                                                              ascii_only: bool,
                                                              spaced: bool) -> None:
    text = _dumps_any(data, ascii_only, spaced)
    value, encode = loads_exact(text)
    # dump_json tells 1 from 1.0 and True from 1, where == would not.
    assert encode(value) == dump_json(json.loads(text))


@settings(max_examples=2000, deadline=None)
@given(_FLOATS)
def test_float_text_is_pythons(number: float) -> None:
    value, encode = loads_exact(json.dumps({"x": number, "y": [number]}))
    assert encode(value) == dump_json({"x": number, "y": [number]})


def test_values_orjson_refuses_go_to_json() -> None:
    for text in ['{"a": NaN}', '{"a": -Infinity}', '{"a": 1e400}', '{"a": "\\ud800"}',
                 '{"a": 18446744073709551616}', '{"a": -9223372036854775809}']:
        value, encode = loads_exact(text)
        assert encode is stored_json
        assert encode(value) == dump_json(json.loads(text))
    with pytest.raises(ValueError):
        loads_exact('{"a": }')


def test_fast_encoder_falls_back_for_integers_beyond_64_bits() -> None:
    assert fast_stored_json({"n": 2**64, "é": "✓"}) == dump_json({"n": 2**64, "é": "✓"})


# -- timestamps ----------------------------------------------------------------------------
def _reference_time(text: str) -> int:
    """parse_time_text as it was: aware datetimes measured from the epoch by parts."""
    import re

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.strip(), count=1))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_OFFSETS = st.sampled_from([None, UTC, timezone(timedelta(hours=2)),
                            timezone(-timedelta(hours=9, minutes=30))])


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), _OFFSETS,
       st.sampled_from(["T", " "]), st.sampled_from(["auto", "seconds", "milliseconds"]),
       st.sampled_from(["", "Z", "123"]))
def test_timestamps_equal_the_reference(moment: datetime, zone: Any, sep: str, spec: str,
                                        tail: str) -> None:
    text = moment.replace(tzinfo=zone).isoformat(sep, spec)
    if tail == "Z":
        if zone is not UTC:
            return
        text = text.replace("+00:00", "Z")
    elif tail and "." in text and spec == "auto":
        head, _, rest = text.partition(".")
        text = f"{head}.{rest[:6]}{tail}{rest[6:]}"  # nanoseconds
    expected = _reference_time(text)
    if MIN_US <= expected <= MAX_US:
        assert parse_time_text(text) == expected


# -- the JSON reader -----------------------------------------------------------------------
_STAMPS = st.sampled_from(["2020-01-01T00:00:00Z", "2020-01-01T00:00:00+00:00",
                           "2020-01-01 10:00:00.123456+02:00", "2020-01-01T00:00:00.5",
                           "2021-06-30T23:59:59.999999-07:30", "2020-01-01T00:00:00.123456789Z",
                           "2019-12-31T23:00:00.000001+00:00"])
_DURATIONS = st.sampled_from([0, 0.0, 1, 2.5, 12345678, 1e-7, 0.0000005, -1, -0.5, None])
_EVENT = st.fixed_dictionaries(
    {"timestamp": _STAMPS},
    optional={"duration": _DURATIONS, "data": _DATA | st.none() | st.sampled_from([[1], "x"]),
              "id": st.integers(0, 10)})


def _rows(path: Path, slow: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as patch:
        if slow:
            patch.setattr(json_export_source._Reader, "run_of_events",
                          lambda self: None)
        else:
            patch.setattr(json_export_source, "_RUN", 300)  # many runs, some failing at edges
            patch.setattr(json_export_source, "_CHUNK", 256)
        source = JsonExportSource(path)
        rows: list[StagedEvent] = []
        for batch in source.batches(None, 50):
            rows.extend(batch.events)
        return rows, dict(source.notes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.lists(_EVENT, max_size=40), st.lists(_EVENT, max_size=5), st.booleans(),
       st.booleans())
def test_json_reader_fast_path_equals_the_general_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, events: list[dict[str, Any]],
        other: list[dict[str, Any]], ascii_only: bool, spaced: bool) -> None:
    bucket = {"type": "t", "client": "c", "hostname": "h"}
    doc = {"buckets": {"b1": {**bucket, "events": events}, "b2": {**bucket, "events": other}}}
    path = tmp_path / "export.json"
    text = _dumps_any(doc, ascii_only, spaced)
    if not ascii_only and any("\ud800" <= c <= "\udfff" for c in text):
        text = _dumps_any(doc, True, spaced)  # a lone surrogate has no UTF-8 form
    path.write_text(text, encoding="utf-8")
    slow = _rows(path, True, monkeypatch)
    assert _rows(path, False, monkeypatch) == slow
    for _, start, end, data in slow[0]:
        assert data == dump_json(json.loads(data)) and end >= start


def test_errors_are_worded_as_by_the_general_path(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    good = ", ".join(json.dumps({"timestamp": "2020-01-01T00:00:00Z", "data": {"t": "}, {"}})
                     for _ in range(200))
    head = '{"buckets": {"b": {"type": "t", "client": "c", "hostname": "h", "events": ['
    for damage in ['{"timestamp": "yesterday"}', '{"timestamp": 5}', "7",
                   '{"timestamp": "2020-01-01T00:00:00Z", "duration": "long"}',
                   '{"timestamp": "2020-01-01T00:00:00Z", "duration": 1e308}',
                   '{"timestamp": "2020-01-01T00:00:00Z", "duration": 10000000000000000}',
                   '{"timestamp": "2020-01-01T00:00:00Z", "duration": 18446744073709551616}',
                   '{"timestamp": -9223372036854775809}',
                   '{"timestamp": "2020-01-01T00:00:00Z",}', '{"timestamp": "2020-01-01T0']:
        path = tmp_path / "damaged.json"
        path.write_text(head + good + ", " + damage + ", " + good + "]}}}")
        messages = []
        for slow in (True, False):
            with pytest.raises(ImportSourceError) as info:
                _rows(path, slow, monkeypatch)
            messages.append(str(info.value))
        assert messages[0] == messages[1]


@pytest.mark.parametrize("run", [100, 1])
def test_a_resumed_read_stages_no_event_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              run: int) -> None:
    monkeypatch.setattr(json_export_source, "_RUN", run)  # runs of a few events, or none
    events = [{"timestamp": f"2020-01-01T00:00:{i:02d}Z", "data": {"i": i}} for i in range(50)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"buckets": {"b": {"type": "t", "client": "c", "hostname": "h",
                                                  "events": events}}}))
    staged: list[StagedEvent] = []
    cursor = None
    for _ in range(3):  # read one batch, stop, resume from its cursor
        first = next(JsonExportSource(path).batches(cursor, 7))
        staged.extend(first.events)
        cursor = first.cursor
    for batch in JsonExportSource(path).batches(cursor, 7):
        staged.extend(batch.events)
    assert [json.loads(e[3])["i"] for e in staged] == list(range(50))


# -- publishing ----------------------------------------------------------------------------
def _table(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT e.id, b.id, e.start, e.end, d.text, "
                            "coalesce(e.origin_id, e.id), e.seq "
                            "FROM event e JOIN event_data d ON d.id = e.data_id "
                            "JOIN bucket b ON b.key = e.bucket "
                            "ORDER BY e.id").fetchall()
    finally:
        conn.close()


def _import(db: Path, sources: list[Path], slow: bool, monkeypatch: pytest.MonkeyPatch,
            window: int) -> list[tuple[Any, ...]]:
    with monkeypatch.context() as patch:
        if slow:
            patch.setattr(Publisher, "_has_events_between", lambda *args: True)
        store = Datastore(db)
        store.imports.publish_window = window
        store.imports.direct_publish = False  # a new bucket would skip staging
        try:
            api = ServerAPI(store, hostname="h")
            for source in sources:
                import_file(api.store, source)
        finally:
            store.close()
    return _table(db)


def _export(path: Path, stamps: list[int], data: Any = None) -> Path:
    events = [{"timestamp": datetime.fromtimestamp(s, UTC).isoformat(), "duration": s % 3 * 0.5,
               "data": data if data is not None else {"s": s, "é": "✓" * (s % 4),
                                                       "f": s / 7, "big": [{"k": s}] * 3}}
              for s in stamps]
    bucket = {"type": "t", "client": "c", "hostname": "h"}
    path.write_text(json.dumps({"buckets": {"a": {**bucket, "events": events},
                                            "z": {**bucket, "events": events[::2]}}}))
    return path


@pytest.mark.parametrize("newest_first", [False, True])
@pytest.mark.parametrize("window", [1, 4, 1000])
def test_publishing_by_insert_select_equals_the_general_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int, newest_first: bool
) -> None:
    # Equal starts (so windows hold several rows), then a second file that overlaps the
    # first in the middle only, so windows of both kinds alternate. Files in time order
    # either way are published by rowid range; the [7, 7] at the end makes bucket "a"
    # of the first file unordered.
    def order(stamps: list[int]) -> list[int]:
        return stamps[::-1] if newest_first else stamps

    first = _export(tmp_path / "1.json", [*order([s // 2 for s in range(0, 60)]), 7, 7])
    second = _export(tmp_path / "2.json", order(list(range(20, 40)) + list(range(100, 140))))
    fast = _import(tmp_path / "fast.sqlite", [first, second], False, monkeypatch, window)
    slow = _import(tmp_path / "slow.sqlite", [first, second], True, monkeypatch, window)
    assert fast == slow
    assert len(fast) == 62 + 31 + 50 + 25  # the first file, then only what is new


def test_interrupted_insert_select_publishing_resumes(tmp_path: Path) -> None:
    path = _export(tmp_path / "export.json", list(range(100)))
    store = Datastore(tmp_path / "db.sqlite")
    store.imports.publish_window = 9
    store.imports.direct_publish = False  # a new bucket would skip staging
    api = ServerAPI(store, hostname="h")
    calls = {"n": 0}

    def crash(phase: str, done: int, total: int | None) -> None:
        calls["n"] += 1
        if phase == "writing" and calls["n"] == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(api.store, path, progress=crash)
    report = import_file(api.store, path)
    assert report.resumed and report.inserted + report.skipped == 150
    store.close()
    clean = Datastore(tmp_path / "clean.sqlite")
    import_file(clean, path)
    clean.close()
    ours = [r[1:5] for r in _table(tmp_path / "db.sqlite")]
    assert ours == [r[1:5] for r in _table(tmp_path / "clean.sqlite")]


def test_staging_knows_which_buckets_are_adjacent_and_in_order(tmp_path: Path) -> None:
    from collections import Counter

    from aw_server.batches import Batch
    from aw_server.datastore.imports.staging import ASCENDING, DESCENDING, Staging

    def batch(*events: tuple[str, int]) -> Batch:
        return Batch([], [(b, s, s + 1, "{}") for b, s in events], "", 0)

    staging = Staging(tmp_path / "staging.sqlite")
    staging.add(batch(("back", 5), ("back", 4), ("zigzag", 1), ("zigzag", 2), ("zigzag", 1),
                      ("inter", 1), ("mixed", 1), ("inter", 2), ("sorted", 1), ("sorted", 1),
                      ("sorted", 2)), Counter())
    staging.add(batch(("sorted", 3), ("late", 1)), Counter())  # adjacent across batches
    staging.add(batch(("late", 2), ("mixed", 3), ("newest", 9), ("newest", 9)), Counter())
    staging.add(batch(("newest", 8), ("even", 4), ("even", 4)), Counter())
    ords = {bucket_id: ord_ for ord_, bucket_id in staging.conn.execute(
        "SELECT ord, id FROM bucket")}
    expected = {"sorted": ASCENDING, "back": DESCENDING, "inter": None, "mixed": None,
                "late": ASCENDING, "newest": DESCENDING, "zigzag": None, "even": ASCENDING}
    assert {b: staging.direction(o) for b, o in ords.items()} == expected
    staging.close()
    reopened = Staging(tmp_path / "staging.sqlite")  # a resumed import
    reopened.add(batch(("even", 3), ("late", 3), ("sorted", 4)), Counter())
    expected["sorted"] = None  # "late" and others came between
    expected["late"] = None  # "mixed" came between
    expected["even"] = DESCENDING  # equal starts so far: either way
    assert {b: reopened.direction(o) for b, o in ords.items()} == expected
    rowids = [r[0] for r in reopened.conn.execute("SELECT rowid FROM staged ORDER BY rowid")]
    assert rowids == list(range(1, 24))
    reopened.close()


def test_staging_of_an_older_version_resumes_without_newest_first_tracking(
        tmp_path: Path) -> None:
    from collections import Counter

    from aw_server.batches import Batch
    from aw_server.datastore.imports.staging import ASCENDING, Staging

    staging = Staging(tmp_path / "staging.sqlite")
    staging.add(Batch([], [("up", 1, 2, "{}"), ("down", 5, 6, "{}")], "2", 0), Counter())
    staging.conn.execute("UPDATE state SET value = ? WHERE key = 'order'",
                         (json.dumps({"1": [1, 1, True], "2": [5, 2, False]}),))
    staging.close()
    reopened = Staging(tmp_path / "staging.sqlite")
    reopened.add(Batch([], [("down", 4, 5, "{}")], "3", 0), Counter())
    assert [reopened.direction(o) for o in (1, 2)] == [ASCENDING, None]
    reopened.close()


def test_staging_publishes_buckets_in_source_order_but_an_older_file_in_id_order(
        tmp_path: Path) -> None:
    from collections import Counter

    from aw_server.batches import Batch, SourceBucket
    from aw_server.datastore.imports.staging import Staging

    described = [SourceBucket(b, "t", "c", "h", "2024-01-01T00:00:00+00:00") for b in "zam"]
    staging = Staging(tmp_path / "staging.sqlite")
    staging.add(Batch(described, [(b, 1, 2, "{}") for b in "zam"], "1", 0), Counter())
    assert [b.id for _, b in staging.buckets()] == ["z", "a", "m"]
    # Files staged before the order was kept: their resume point counts in id order.
    staging.conn.execute("DELETE FROM state WHERE key = 'bucket_order'")
    staging.close()
    reopened = Staging(tmp_path / "staging.sqlite")
    assert [b.id for _, b in reopened.buckets()] == ["a", "m", "z"]
    reopened.close()


_STORED_TEXTS = (st.text(st.characters(exclude_categories=["Cs"])) | _DATA.map(dump_json)
                 | st.sampled_from(["\x00", "a\x00b", dump_json({"k": "\x00\x01\x1f"}),
                                    "\\u0000", '"\\"', "\u2028\x7f"]))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "ü"]),
                          st.integers(MIN_US, MAX_US // 2), st.integers(0, MAX_US // 2),
                          _STORED_TEXTS), max_size=30))
def test_staging_rows_packed_as_json_read_back_exactly(
        tmp_path: Path, rows: list[tuple[str, int, int, str]]) -> None:
    from collections import Counter

    from aw_server.batches import Batch
    from aw_server.datastore.imports.staging import Staging, StagingWriter

    path = tmp_path / "staging.sqlite"
    path.unlink(missing_ok=True)
    staging = Staging(path)
    try:
        events = [(b, start, start + duration, text) for b, start, duration, text in rows]
        with StagingWriter(staging) as writer:
            writer.put(staging.prepare(Batch([], events, "1", 1), Counter()))
        names = dict(staging.conn.execute("SELECT ord, id FROM bucket"))
        got = [(names[o], s, e, d) for o, s, e, d in staging.conn.execute(
            "SELECT bucket, start, end, data FROM staged ORDER BY rowid")]
        assert got == events
        assert all(t == "integer" for r in staging.conn.execute(
            "SELECT typeof(start), typeof(end) FROM staged") for t in r)
    finally:
        staging.close()


def test_staging_writer_hands_its_error_to_the_reader(tmp_path: Path) -> None:
    from collections import Counter

    from aw_server.batches import Batch
    from aw_server.datastore.imports.staging import Staging, StagingWriter

    staging = Staging(tmp_path / "staging.sqlite")
    too_long = Batch([], [("b", 0, 2**64, "{}")], "1", 1)  # no SQLite integer holds it
    with pytest.raises(OverflowError), StagingWriter(staging) as writer:
        writer.put(staging.prepare(too_long, Counter()))
        writer.put(staging.prepare(Batch([], [("b", 1, 2, "{}")], "2", 2), Counter()))
    assert staging.count() == 0 and staging.get("cursor") is None  # nothing half-written
    staging.close()


def test_databases_are_read_in_index_order_once_and_resumably(tmp_path: Path) -> None:
    """Peewee databases are read by (bucket, timestamp, id), aw-server-rust ones by
    (bucket, id) where that index exists: every row once, from any cursor on."""
    import random

    from aw_server.transfer.database_source import PeeweeSource, RustSource, SqliteSource
    from tests.aw_server.transfer.activitywatch_files import rust_db

    peewee = tmp_path / "peewee.db"
    conn = sqlite3.connect(peewee)
    conn.execute("CREATE TABLE bucketmodel (key INTEGER NOT NULL PRIMARY KEY, id TEXT NOT "
                 "NULL, created DATETIME NOT NULL, name TEXT, type TEXT NOT NULL, client TEXT "
                 "NOT NULL, hostname TEXT NOT NULL, datastr TEXT)")
    conn.execute("CREATE TABLE eventmodel (id INTEGER NOT NULL PRIMARY KEY, bucket_id INTEGER "
                 "NOT NULL, timestamp DATETIME NOT NULL, duration DECIMAL(10, 5) NOT NULL, "
                 "datastr TEXT NOT NULL)")
    conn.execute("CREATE INDEX eventmodel_bucket_id_timestamp ON eventmodel (bucket_id, "
                 "timestamp)")
    for key in range(1, 5):
        conn.execute("INSERT INTO bucketmodel VALUES (?, ?, '2019-01-01 00:00:00+00:00', NULL, "
                     "'t', 'c', 'h', '{}')", (key, f"b{key}"))
    rng = random.Random(3)  # many rows of equal bucket and timestamp
    rows = [(rng.randrange(1, 5), f"2019-01-01 00:00:0{rng.randrange(3)}+00:00",
             json.dumps({"i": i})) for i in range(300)]
    conn.executemany("INSERT INTO eventmodel (bucket_id, timestamp, duration, datastr) VALUES "
                     "(?, ?, 1.5, ?)", rows)
    conn.commit()
    conn.close()
    rust = tmp_path / "rust.db"
    rust_db(rust, 3)
    sources: list[type[SqliteSource]] = [PeeweeSource, RustSource]
    for kind, path in zip(sources, [peewee, rust], strict=True):
        batches = list(kind(path).batches(None, 7))
        assert batches[2].cursor.startswith("[")  # the index order was taken
        rows = [e for b in batches for e in b.events]
        assert len(rows) == len(set(rows)) == (300 if kind is PeeweeSource else 100)
        for i in range(1, len(batches) - 1):
            resumed = list(kind(path).batches(batches[i].cursor, 7))
            assert resumed[1].done == batches[i + 1].done
            assert [e for b in batches[: i + 1] for e in b.events] + \
                [e for b in resumed for e in b.events] == rows
        # A job begun by an older version (cursor: an id) goes on in id order.
        old = list(kind(path).batches("5", 7))
        assert old[1].cursor == "12"


def test_collector_pauses_during_an_import_and_resumes_after_success_or_damage(
        tmp_path: Path) -> None:
    import gc

    good = _export(tmp_path / "good.json", list(range(30)))
    damaged = tmp_path / "damaged.json"
    damaged.write_bytes(good.read_bytes()[:-40])
    store = Datastore(tmp_path / "db.sqlite")
    api = ServerAPI(store, hostname="h")
    seen: list[bool] = []
    try:
        assert gc.isenabled()
        import_file(api.store, good, progress=lambda *args: seen.append(gc.isenabled()))
        assert seen and not any(seen)
        assert gc.isenabled()
        with pytest.raises(ImportSourceError):
            import_file(api.store, damaged)
        assert gc.isenabled()
    finally:
        store.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 6), max_size=25), st.booleans(), st.integers(1, 6),
       st.integers(0, 3))
def test_window_edges_of_ordered_buckets_are_counted_by_rowid_exactly(
        tmp_path: Path, gaps: list[int], newest_first: bool, size: int, neighbours: int
) -> None:
    """An ordered bucket (here between two others' rows) finds each window's edge and
    span by rowid arithmetic: the same as stepping through the index."""
    from collections import Counter
    from itertools import accumulate

    from aw_server.batches import Batch
    from aw_server.datastore.imports.staging import Staging
    from aw_server.datastore.imports.windows import window_span

    path = tmp_path / "staging.sqlite"
    path.unlink(missing_ok=True)
    staging = Staging(path)
    try:
        starts = list(accumulate(gaps, initial=10))  # gaps of 0: equal starts
        starts = starts[::-1] if newest_first else starts
        around = [("before", s, s, "{}") for s in range(neighbours)]
        staging.add(Batch([], around + [("b", s, s + s % 5, "{}") for s in starts]
                          + [("after", s, s, "{}") for s in range(neighbours)], "1", 0),
                    Counter())
        ord_ = staging.conn.execute("SELECT ord FROM bucket WHERE id = 'b'").fetchone()[0]
        assert staging.direction(ord_) is not None
        staging.conn.execute("ATTACH DATABASE ? AS s", (str(path),))
        for after in [None, *sorted(set(starts))]:
            low = -(2**63) if after is None else after
            expected = staging.conn.execute(
                "SELECT start FROM staged WHERE bucket = ? AND start > ? ORDER BY start "
                "LIMIT 1 OFFSET ?", (ord_, low, size - 1)).fetchone()
            edge = staging.edge(ord_, after, size)
            assert edge == (None if expected is None else expected[0])
            window = [s for s in starts if low < s <= (2**63 - 1 if edge is None else edge)]
            span = window_span(staging.conn, "s", ord_, after, edge)
            assert (span.count, span.longest) == (len(window),
                                                  max((s % 5 for s in window), default=0))
    finally:
        staging.close()


@pytest.mark.parametrize("buckets", [1, 8, 9, 40])
def test_staging_numbers_each_rows_bucket_however_many_share_a_batch(
        tmp_path: Path, buckets: int) -> None:
    """Up to eight buckets in a batch are numbered by a CASE, more by a lookup per row."""
    from collections import Counter

    from aw_server.batches import Batch
    from aw_server.datastore.imports.staging import Staging

    staging = Staging(tmp_path / "staging.sqlite")
    try:
        events = [(f"b'{i % buckets}", i, i, "{}") for i in range(100)]
        staging.add(Batch([], events, "1", 1), Counter())
        got = list(staging.conn.execute(
            "SELECT b.id, s.start FROM staged s JOIN bucket b ON b.ord = s.bucket "
            "ORDER BY s.rowid"))
        assert got == [(b, start) for b, start, _, _ in events]
    finally:
        staging.close()


def test_integers_beyond_64_bits_in_a_run_are_stored_exactly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # orjson reads them as floats; the run is decoded again by `json` only because of them.
    usual = {"timestamp": "2020-01-01T00:00:00Z", "duration": 1.5, "data": {"big": 1e20}}
    events = [usual] * 30 + [{**usual, "data": {"n": 18446744073709551616, "m": -(2**70)}}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"buckets": {"b": {"type": "t", "client": "c", "hostname": "h",
                                                  "events": events}}}), encoding="utf-8")
    rows, _ = _rows(path, False, monkeypatch)
    assert [r[3] for r in rows] == ['{"big":1e+20}'] * 30 + [
        '{"n":18446744073709551616,"m":-1180591620717411303424}']
