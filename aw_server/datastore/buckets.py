"""Buckets: creating, listing, changing and deleting them.

A bucket keeps its `key` for its life (restarts included), and buckets are listed in key
order, which is creation order, as ActivityWatch lists them. A deleted bucket's row stays
as a tombstone (deleted = 1) so sync can pass the deletion on.
"""

from __future__ import annotations

import json
import sqlite3
from operator import attrgetter
from typing import Any

from aw_server.datastore.cache import BucketCache
from aw_server.datastore.database import Database
from aw_server.datastore.rows import BucketRow, check_text, sized_json
from aw_server.errors import BucketExists, BucketIdTaken, Forbidden, NoSuchBucket
from aw_server.models import Bucket

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


class BucketStore:
    """Own buckets (mirrors of other devices' buckets are written by `SyncStore`).

    Contract: every write runs in `cache.write()`, takes a change-sequence number for the
    bucket row and keeps `cache.rows` in step with the live rows.
    """

    def __init__(self, db: Database, cache: BucketCache, max_event_bytes: int) -> None:
        self.db = db
        self.cache = cache
        self.max_event_bytes = max_event_bytes

    def ids(self) -> list[str]:
        """In creation order (see `all`)."""
        return [row.id for row in sorted(self.cache.rows.values(), key=_by_key)]

    def get(self, bucket_id: str) -> Bucket:
        found = (
            self.db.conn()
            .execute(f"SELECT {_BUCKET_COLUMNS} FROM bucket WHERE id = ? AND deleted = 0",
                     (bucket_id,))
            .fetchone()
        )
        if found is None:
            raise NoSuchBucket(bucket_id)
        return _bucket_from_row(found)

    def all(self) -> list[Bucket]:
        """In creation order, as ActivityWatch lists them (tools take "the first window
        bucket"): the order of `key`, which a bucket keeps for its life, restarts
        included; a re-created bucket takes a new one (see `create`), and an
        import creates its buckets in its source's order."""
        rows = self.db.conn().execute(
            f"SELECT {_BUCKET_COLUMNS} FROM bucket WHERE deleted = 0 ORDER BY key"
        )
        return [_bucket_from_row(r) for r in rows]

    def time_span(self, bucket_id: str) -> tuple[int | None, int | None]:
        """First start and last end; the index answers both."""
        row = self.cache.row(bucket_id)
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

    def create(self, bucket: Bucket) -> Bucket:
        for name in ("id", "type", "client", "hostname", "created"):
            check_text(getattr(bucket, name), name)
        data = sized_json(bucket.data, self.max_event_bytes, f"the data of bucket '{bucket.id}'")
        with self.cache.write() as conn:
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
            self.cache.rows[bucket.id] = BucketRow(key, bucket.id, False, 0, self.db.current_seq)
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

    def update(self, bucket_id: str, changes: dict[str, Any]) -> Bucket:
        """Change metadata (type, client, hostname, name, data); events are untouched."""
        with self.cache.write() as conn:
            row = self.cache.row(bucket_id)
            if row.readonly:
                raise Forbidden(f"bucket '{bucket_id}' is a read-only mirror of another device")
            current = self.get(bucket_id)
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

    def delete(self, bucket_id: str) -> None:
        """The bucket row stays as a tombstone (deleted = 1) so sync can pass the deletion on;
        its events go, without one tombstone each."""
        with self.cache.write() as conn:
            row = self.cache.writable(bucket_id)  # a mirror is deleted only by unpair with purge
            conn.execute("DELETE FROM event WHERE bucket = ?", (row.key,))
            conn.execute(
                "UPDATE bucket SET deleted = 1, seq = ? WHERE key = ?",
                (self.db.next_seq(), row.key),
            )
            del self.cache.rows[bucket_id]
            self.cache.newest.pop(row.key, None)

    def change_marker(self, bucket_id: str) -> int:
        """The highest seq that touched the bucket: any write to it raises this number."""
        return self.cache.row(bucket_id).last_seq
