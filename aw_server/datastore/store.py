"""The datastore: the only place that reads or writes the database.

Every mutation of an own row takes the next change-sequence number in its own
transaction (docs/sync.md §1), here and nowhere else, so the API, import and the
dashboard all leave the same trail for sync to read.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from typing import Any

from aw_server.datastore.core import Database
from aw_server.datastore.events import EventOps
from aw_server.datastore.rows import BucketRow, check_text, dump_json, sized_json
from aw_server.datastore.sync_read import SyncReadOps
from aw_server.datastore.sync_store import SyncStoreOps
from aw_server.datastore.sync_trust import SyncTrustOps
from aw_server.datastore.transfer import TransferOps
from aw_server.errors import BucketExists, BucketIdTaken, Forbidden, NoSuchBucket
from aw_server.models import DEFAULT_MAX_EVENT_BYTES, Bucket, BucketInfo, Event

logger = logging.getLogger(__name__)

_BUCKET_COLUMNS = "id, name, type, client, hostname, created, data, readonly"


_by_key = attrgetter("key")


def _next_bucket_key(conn: sqlite3.Connection) -> int:
    """The key AUTOINCREMENT would give the next bucket, taken now: also for a row that
    gets it by UPDATE, which does not move SQLite's counter, so this moves it (no key is
    ever handed out twice)."""
    key = int(conn.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bucket'), 0), "
        "coalesce((SELECT max(key) FROM bucket), 0)) + 1").fetchone()[0])
    if not conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'bucket'",
                        (key,)).rowcount:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('bucket', ?)", (key,))
    return key


def _bucket_from_row(row: tuple[Any, ...]) -> Bucket:
    bucket_id, name, type_, client, hostname, created, data, readonly = row
    return Bucket(bucket_id, type_, client, hostname, created, json.loads(data), name,
                  bool(readonly))


class Datastore(EventOps, TransferOps, SyncTrustOps, SyncStoreOps, SyncReadOps):
    def __init__(self, path: Path | str, *, durability: str = "normal",
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
                 private_dir: bool = False) -> None:
        """`private_dir`: the database's folder is the data folder, kept at 0700."""
        self.db = Database(path, durability=durability, private_dir=private_dir)
        self.max_event_bytes = max_event_bytes
        self._buckets: dict[str, BucketRow] = {}
        self._last: dict[int, Event] = {}
        self._load_caches()

    def _load_caches(self) -> None:
        conn = self.db.conn()
        self._buckets = {
            bucket_id: BucketRow(key, bucket_id, bool(readonly), max_duration, self.db.current_seq)
            for key, bucket_id, readonly, max_duration in conn.execute(
                "SELECT key, id, readonly, max_duration FROM bucket WHERE deleted = 0 ORDER BY key"
            )
        }
        self._last = {}
        top = conn.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0),"
            " coalesce((SELECT max(id) FROM event), 0))"
        ).fetchone()[0]
        self._next_event_id = int(top or 0) + 1

    def reload_buckets(self) -> None:
        """Re-read bucket rows written by another process (the query worker's view)."""
        with self.db.lock:
            self._load_caches()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction whose in-memory caches are rebuilt if it rolls back."""
        try:
            with self.db.write() as conn:
                yield conn
        except BaseException:
            with self.db.lock:
                self._load_caches()
            raise

    @property
    def device_id(self) -> str:
        return self.db.device_id

    def close(self) -> None:
        self.db.close()

    # -- buckets -----------------------------------------------------------------------
    def bucket_ids(self) -> list[str]:
        """In creation order (see `list_buckets`)."""
        return [row.id for row in sorted(self._buckets.values(), key=_by_key)]

    def get_bucket(self, bucket_id: str) -> Bucket:
        found = (
            self.db.conn()
            .execute(f"SELECT {_BUCKET_COLUMNS} FROM bucket WHERE id = ? AND deleted = 0",
                     (bucket_id,))
            .fetchone()
        )
        if found is None:
            raise NoSuchBucket(bucket_id)
        return _bucket_from_row(found)

    def list_buckets(self) -> list[Bucket]:
        """In creation order, as ActivityWatch lists them (tools take "the first window
        bucket"): the order of `key`, which a bucket keeps for its life, restarts
        included; a re-created bucket takes a new one (see `create_bucket`), and an
        import creates its buckets in its source's order."""
        rows = self.db.conn().execute(
            f"SELECT {_BUCKET_COLUMNS} FROM bucket WHERE deleted = 0 ORDER BY key"
        )
        return [_bucket_from_row(r) for r in rows]

    def bucket_time_span(self, bucket_id: str) -> tuple[int | None, int | None]:
        """First start and last end; the index answers both."""
        row = self._bucket(bucket_id)
        conn = self.db.conn()
        first = conn.execute(
            "SELECT min(start) FROM event WHERE bucket = ?", (row.key,)
        ).fetchone()[0]
        last = conn.execute(
            "SELECT max(end) FROM event WHERE bucket = ? AND start >= "
            "(SELECT max(start) FROM event WHERE bucket = ?) - ?",
            (row.key, row.key, row.max_duration),
        ).fetchone()[0]
        return first, last

    def create_bucket(self, bucket: Bucket) -> Bucket:
        for name in ("id", "type", "client", "hostname", "created"):
            check_text(getattr(bucket, name), name)
        data = sized_json(bucket.data, self.max_event_bytes, f"the data of bucket '{bucket.id}'")
        with self._write() as conn:
            found = conn.execute("SELECT key, origin, readonly, deleted, origin_bucket_id "
                                 "FROM bucket WHERE id = ?", (bucket.id,)).fetchone()
            if found is not None and (found[1] != self.db.self_origin or found[2]):
                # Never revive another device's row as ours: it would keep that origin and
                # its events would name a bucket no batch of ours carries.
                raise BucketIdTaken(self._taken_message(conn, bucket.id, found))
            if found is not None and not found[3]:
                raise BucketExists(bucket.id)
            values = (bucket.name, bucket.type, bucket.client, bucket.hostname, bucket.created,
                      data, self.db.next_seq())
            # A deleted bucket's row stays for sync; created again, it takes a new key, so
            # it is listed last, as a new bucket (ActivityWatch inserts a new row).
            key = _next_bucket_key(conn)
            if found is not None:
                conn.execute(
                    "UPDATE bucket SET name = ?, type = ?, client = ?, hostname = ?, "
                    "created = ?, data = ?, seq = ?, deleted = 0, max_duration = 0, key = ? "
                    "WHERE key = ?", (*values, key, found[0]))
            else:
                conn.execute(
                    "INSERT INTO bucket (name, type, client, hostname, created, data, seq, key, "
                    "id, origin, origin_bucket_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, key, bucket.id, self.db.self_origin, bucket.id),
                )
            self._buckets[bucket.id] = BucketRow(key, bucket.id, False, 0, self.db.current_seq)
        return bucket

    @staticmethod
    def _taken_message(conn: sqlite3.Connection, bucket_id: str, found: tuple[Any, ...]
                       ) -> str:
        device, hostname = conn.execute(
            "SELECT device_id, hostname FROM origin WHERE id = ?", (found[1],)).fetchone()
        deleted = " (deleted there, kept here as a tombstone)" if found[3] else ""
        where = f"{hostname} ({device[:8]})" if hostname else device[:8]
        return (f"bucket id '{bucket_id}' belongs to the mirror of bucket '{found[4]}' of "
                f"device {where}{deleted}; choose another id")

    def update_bucket(self, bucket_id: str, changes: dict[str, Any]) -> Bucket:
        """Change metadata (type, client, hostname, name, data); events are untouched."""
        with self._write() as conn:
            row = self._bucket(bucket_id)
            if row.readonly:
                raise Forbidden(f"bucket '{bucket_id}' is a read-only mirror of another device")
            current = self.get_bucket(bucket_id)
            for name in ("type", "client", "hostname", "name", "data"):
                if name in changes:
                    setattr(current, name, changes[name])
            data = sized_json(current.data, self.max_event_bytes,
                              f"the data of bucket '{bucket_id}'")
            conn.execute(
                "UPDATE bucket SET name = ?, type = ?, client = ?, hostname = ?, data = ?, seq = ? "
                "WHERE key = ?",
                (current.name, check_text(current.type, "type"),
                 check_text(current.client, "client"),
                 check_text(current.hostname, "hostname"), data,
                 self.db.next_seq(), row.key),
            )
            row.last_seq = self.db.current_seq
        return current

    def delete_bucket(self, bucket_id: str) -> None:
        """The bucket row stays as a tombstone (deleted = 1) so sync can pass the deletion on;
        its events go, without one tombstone each."""
        with self._write() as conn:
            row = self._writable(bucket_id)  # a mirror is deleted only by unpair with purge
            conn.execute("DELETE FROM event WHERE bucket = ?", (row.key,))
            conn.execute(
                "UPDATE bucket SET deleted = 1, seq = ? WHERE key = ?",
                (self.db.next_seq(), row.key),
            )
            del self._buckets[bucket_id]
            self._last.pop(row.key, None)

    # -- settings ----------------------------------------------------------------------
    def get_setting(self, key: str) -> Any:
        found = self.db.conn().execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def all_settings(self) -> dict[str, Any]:
        rows = self.db.conn().execute("SELECT key, value FROM setting ORDER BY key")
        return {key: json.loads(value) for key, value in rows}

    def set_setting(self, key: str, value: Any) -> None:
        check_text(key, "key")
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO setting (key, value, seq) VALUES (?, ?, ?)",
                (key, dump_json(value), self.db.next_seq()),
            )

    def delete_setting(self, key: str) -> bool:
        with self._write() as conn:
            cur = conn.execute("DELETE FROM setting WHERE key = ?", (key,))
            return cur.rowcount > 0

    # -- the query language's EventSource -------------------------------------------
    def buckets(self) -> list[BucketInfo]:
        return [BucketInfo(b.id, b.type, b.client, b.hostname) for b in self.list_buckets()]

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        return self.events_shared_data(bucket_id, start_us, end_us)

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int:
        return self.count_events(bucket_id, start_us, end_us)

    def change_marker(self, bucket_id: str) -> int:
        """The highest seq that touched the bucket: any write to it raises this number."""
        return self._bucket(bucket_id).last_seq
