"""ActivityWatch's own files, built for tests: aw-server-rust databases of every schema
version and the pieces of a JSON export. The import tests here, the HTTP upload tests
and the tray's import tests all feed them to the importer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def rust_db(path: Path, version: int) -> None:
    """The tables aw-server-rust's migrations leave at schema `version`, filled with rows
    the way it writes them (nanosecond times, `data` as JSON text)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE buckets (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE "
                 "NOT NULL, type TEXT NOT NULL, client TEXT NOT NULL, hostname TEXT NOT NULL, "
                 "created TEXT NOT NULL)")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, bucketrow INTEGER "
                 "NOT NULL, starttime INTEGER NOT NULL, endtime INTEGER NOT NULL, data TEXT NOT "
                 "NULL, FOREIGN KEY (bucketrow) REFERENCES buckets(id))")
    if version >= 2:
        conn.execute("ALTER TABLE buckets ADD COLUMN data TEXT DEFAULT '{}'")
    if version >= 3:
        conn.execute("ALTER TABLE buckets RENAME COLUMN data TO data_deprecated")
        conn.execute("ALTER TABLE buckets ADD COLUMN data TEXT NOT NULL DEFAULT '{}'")
    if version >= 4:
        conn.execute("CREATE TABLE key_value (key TEXT PRIMARY KEY, value TEXT, "
                     "last_modified NUMBER NOT NULL)")
        conn.executemany("INSERT INTO key_value VALUES (?, ?, 1700000000)", [
            ("settings.startOfDay", '"04:00"'), ("settings.startOfWeek", '"Monday"'),
            ("settings.classes", json.dumps([{"name": ["Work"], "rule": {"type": "regex",
                                                                         "regex": "vim"}}])),
            ("settings.showYearly", "false"), ("unrelated", '"x"'),
        ])
    if version >= 5:
        conn.execute("CREATE INDEX events_bucketrow_starttime_endtime_index ON "
                     "events(bucketrow, starttime DESC, endtime)")
    else:
        conn.execute("CREATE INDEX events_bucketrow_index ON events(bucketrow)")
    columns = "name, type, client, hostname, created" + (", data" if version >= 2 else "")
    marks = ", ".join("?" * (6 if version >= 2 else 5))
    for b, created in enumerate(("2023-02-03 04:05:06.123456789+00:00",
                                 "2023-02-03T04:05:06+00:00")):
        values: list[Any] = [f"aw-watcher-window_r{b}", "currentwindow", "aw-watcher-window",
                             "rusty", created]
        if version >= 2:
            values.append(json.dumps({"device_id": "d-1"}))
        conn.execute(f"INSERT INTO buckets ({columns}) VALUES ({marks})", values)
        conn.executemany(
            "INSERT INTO events (bucketrow, starttime, endtime, data) VALUES (?, ?, ?, ?)",
            [(b + 1, 1_700_000_000_123_456_789 + i * 10**10,
              1_700_000_000_123_456_789 + i * 10**10 + (0 if i % 5 == 0 else i * 10**9 + 7),
              json.dumps({"app": "ünï", "title": f"t{i}"}, ensure_ascii=False))
             for i in range(50)])
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


# The bucket and events of a small JSON export (EVENTS holds an exact duplicate, as
# ActivityWatch does store them).
BUCKET = {"id": "b1", "created": "2020-01-01T00:00:00+00:00", "name": None, "type": "t",
          "client": "c", "hostname": "h", "data": {"x": 1}}
EVENTS = [{"id": 9, "timestamp": "2020-01-01T00:00:00Z", "duration": 1.5, "data": {"a": "é"}},
          {"timestamp": "2020-01-01T00:00:01Z", "duration": 0, "data": {"a": "b"}},
          {"timestamp": "2020-01-01T00:00:01Z", "duration": 0, "data": {"a": "b"}}]
