"""The domain API: what each request means, for the HTTP layer, the tray and sync alike.

It parses nothing from HTTP and imports no web framework; it takes models and plain
values and raises the typed errors of `aw_server.errors`.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aw_server import __version__
from aw_server.datastore.rows import event_json_text
from aw_server.datastore.store import Datastore
from aw_server.errors import BadRequest, DeleteNeedsForce
from aw_server.models import Bucket, Event, format_us, require_str

if TYPE_CHECKING:
    from aw_server.query.service import QueryService

logger = logging.getLogger(__name__)

MAX_PULSETIME_S = 1e12

MAX_SETTING_KEY = 128


@dataclass(frozen=True)
class ServerInfo:
    hostname: str
    testing: bool
    version: str = __version__


class ServerAPI:
    def __init__(self, store: Datastore, *, testing: bool = False,
                 hostname: str | None = None, queries: QueryService | None = None) -> None:
        """`queries` is the server's query service (with its worker pool); without one,
        queries run in the caller's thread with a cache of their own."""
        self.store = store
        self.info = ServerInfo(hostname or socket.gethostname(), testing)
        if queries is None:
            from aw_server.query import QueryCache, QueryService

            queries = QueryService(store.source, cache=QueryCache())
        self.queries = queries

    # -- info ----------------------------------------------------------------------------
    def get_info(self) -> dict[str, Any]:
        return {
            "hostname": self.info.hostname,
            "version": f"v{self.info.version}",
            "testing": self.info.testing,
            "device_id": self.store.device_id,
        }

    # -- buckets -------------------------------------------------------------------------
    def _bucket_json(self, bucket: Bucket) -> dict[str, Any]:
        out = bucket.to_json()
        first, last = self.store.buckets.time_span(bucket.id)
        out["last_updated"] = format_us(last) if last is not None else None
        out["metadata"] = {
            "start": format_us(first) if first is not None else None,
            "end": format_us(last) if last is not None else None,
        }
        return out

    def get_buckets(self) -> dict[str, dict[str, Any]]:
        return {b.id: self._bucket_json(b) for b in self.store.buckets.all()}

    def get_bucket(self, bucket_id: str) -> dict[str, Any]:
        return self._bucket_json(self.store.buckets.get(bucket_id))

    def _bucket_from_body(self, bucket_id: str, body: dict[str, Any]) -> Bucket:
        hostname = require_str(body, "hostname")
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise BadRequest("'data' must be a JSON object", param="data")
        if hostname == "!local":
            # aw-watcher-web asks the server to fill in its own name and device.
            hostname = self.info.hostname
            data = {**data, "device_id": self.store.device_id}
        created = body.get("created")
        if created is None:
            created = datetime.now(UTC).isoformat()
        elif not isinstance(created, str):
            raise BadRequest("'created' must be an ISO 8601 string", param="created")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise BadRequest("'name' must be a string", param="name")
        return Bucket(
            id=bucket_id,
            type=require_str(body, "type"),
            client=require_str(body, "client"),
            hostname=hostname,
            created=created,
            data=data,
            name=name,
        )

    def create_bucket(self, bucket_id: str, body: dict[str, Any]) -> Bucket:
        if not bucket_id or len(bucket_id) > 512:
            raise BadRequest("a bucket id must be 1 to 512 characters long", param="bucket_id")
        return self.store.buckets.create(self._bucket_from_body(bucket_id, body))

    def update_bucket(self, bucket_id: str, body: dict[str, Any]) -> Bucket:
        changes: dict[str, Any] = {}
        for key in ("type", "client", "hostname", "name"):
            if key in body:
                if not isinstance(body[key], str):
                    raise BadRequest(f"'{key}' must be a string", param=key)
                changes[key] = body[key]
        if "data" in body:
            if not isinstance(body["data"], dict):
                raise BadRequest("'data' must be a JSON object", param="data")
            changes["data"] = body["data"]
        return self.store.buckets.update(bucket_id, changes)

    def delete_bucket(self, bucket_id: str, *, force: bool) -> None:
        if not force and not self.info.testing:
            raise DeleteNeedsForce(
                f"Deleting bucket '{bucket_id}' loses its data: repeat with ?force=1 to confirm"
            )
        self.store.buckets.delete(bucket_id)

    # -- events --------------------------------------------------------------------------
    def events_json(self, bucket_id: str, limit: int | None, start_us: int | None,
                    end_us: int | None) -> Iterator[str]:
        return self.store.events.iter_json(bucket_id, limit, start_us, end_us)

    def create_events(self, bucket_id: str, body: Any) -> Event | list[Event]:
        """One event (answered with it, id included) or a list (answered with the list,
        as aw-server-rust does, so a web UI learns the new ids)."""
        if isinstance(body, list):
            events = [Event.from_json(e, keep_id=True) for e in body]
            return self.store.events.insert(bucket_id, events)
        event = Event.from_json(body, keep_id=True)
        return self.store.events.insert(bucket_id, [event])[0]

    def heartbeat(self, bucket_id: str, body: Any, pulsetime_s: float) -> Event:
        beat = Event.from_json(body)
        # Past the whole timestamp range every pulsetime means the same: merge if equal.
        pulsetime_us = round(min(pulsetime_s, MAX_PULSETIME_S) * 1_000_000)
        return self.store.events.heartbeat(bucket_id, beat, pulsetime_us)

    def count_events(self, bucket_id: str, start_us: int | None, end_us: int | None) -> int:
        return self.store.events.count(bucket_id, start_us, end_us)

    def get_event(self, bucket_id: str, event_id: int) -> Event:
        return self.store.events.get(bucket_id, event_id)

    def delete_event(self, bucket_id: str, event_id: int) -> bool:
        return self.store.events.delete(bucket_id, event_id)

    # -- export / import -----------------------------------------------------------------
    def export_chunks(self, bucket_ids: list[str] | None = None, start_us: int | None = None,
                      end_us: int | None = None, *, include_settings: bool = False
                      ) -> Iterator[str]:
        """ActivityWatch's export document, streamed: `{"buckets": {id: {..., events}}}`.

        Events keep no ids (as aw-server does), so an export imports cleanly anywhere.
        With a time range, whole events overlapping it are exported (not clipped), so
        exports of adjacent ranges import back without loss or duplicates. Backups add
        `"settings": {...}` (`include_settings`), which ActivityWatch ignores.
        """
        ids = self.store.buckets.ids() if bucket_ids is None else bucket_ids
        # Look the buckets up now, not lazily: an unknown id must fail before the 200
        # status line is sent, which happens as soon as streaming starts.
        buckets = [self.store.buckets.get(b) for b in ids]
        return self._export_stream(buckets, start_us, end_us, include_settings)

    def _export_stream(self, buckets: list[Bucket], start_us: int | None, end_us: int | None,
                       include_settings: bool) -> Iterator[str]:
        yield '{"buckets": {'
        for n, bucket in enumerate(buckets):
            meta = bucket.to_json()
            head = json.dumps(meta, ensure_ascii=False)[:-1]
            key = json.dumps(bucket.id, ensure_ascii=False)
            yield f'{", " if n else ""}{key}: {head}, "events": ['
            batch: list[str] = []
            first = True
            for start, end, data in self.store.events.export_rows(bucket.id, start_us, end_us):
                batch.append(event_json_text(None, start, end, data))
                if len(batch) >= 2000:
                    yield ("" if first else ", ") + ", ".join(batch)
                    first, batch = False, []
            if batch:
                yield ("" if first else ", ") + ", ".join(batch)
            yield "]}"
        yield "}"
        if include_settings:
            yield ', "settings": ' + json.dumps(self.store.settings.all(), ensure_ascii=False)
        yield "}"

    # -- query ---------------------------------------------------------------------------
    def query(self, program: list[str], timeperiods: list[str], *,
              name: str | None = None) -> list[Any]:
        return self.queries.query(program, timeperiods, name=name)

    def prepare_queries(self) -> None:
        """The dashboard was opened: its queries follow within a second."""
        self.queries.warm_up()

    def query_functions(self) -> list[dict[str, str]]:
        return self.queries.functions()

    # -- settings ------------------------------------------------------------------------
    @staticmethod
    def _check_key(key: str) -> None:
        if not key or len(key) > MAX_SETTING_KEY:
            raise BadRequest(f"a setting key must be 1 to {MAX_SETTING_KEY} characters",
                             param="key")

    def get_settings(self) -> dict[str, Any]:
        return self.store.settings.all()

    def get_setting(self, key: str) -> Any:
        self._check_key(key)
        return self.store.settings.get(key)

    def set_setting(self, key: str, value: Any) -> Any:
        """Any JSON value is stored, false, 0 and "" included (aw-server dropped those)."""
        self._check_key(key)
        self.store.settings.set(key, value)
        return value

    def delete_setting(self, key: str) -> None:
        self._check_key(key)
        self.store.settings.delete(key)
