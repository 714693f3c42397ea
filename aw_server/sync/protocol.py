"""The awsync/1 wire objects, their validation, and the `SyncAccess` Protocol.

A session moves deltas between two `SyncAccess` implementations: `LocalAccess` (this
device's datastore) and `RemotePeer` (another device over sealed HTTP, `client.py`). The
same session code therefore runs pull (remote → local) and push (local → remote).

Batch (JSON object):
    {"origin": log_id, "from": h, "up_to": u,
     "buckets": [{"id", "name", "type", "client", "hostname", "created", "data", "seq",
                  "deleted", "epoch"}],
     "events": [[origin_id, bucket, start_us, duration_us, seq, data], ...],
     "tombstones": [[origin_id, bucket, seq], ...]}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_store import OriginInfo
from aw_server.errors import BadRequest

PROTO = 1
MAX_ITEMS = 2000
MAX_BYTES = 1024 * 1024
MAX_BODY = 8 * 1024 * 1024  # sealed request or response body, before anything is parsed
_INT_LIMIT = 2**62


@dataclass
class Summary:
    """Per-log high-water marks of one side, and the logs it refuses (blocked)."""

    hwms: dict[str, int] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"hwms": self.hwms, "skip": self.skip}

    @classmethod
    def from_json(cls, value: Any) -> Summary:
        if not isinstance(value, dict):
            raise BadRequest("'summary' must be an object")
        hwms, skip = value.get("hwms", {}), value.get("skip", [])
        if not isinstance(hwms, dict) or not all(
            isinstance(k, str) and _is_int(v) for k, v in hwms.items()
        ):
            raise BadRequest("'summary.hwms' must map log ids to integers")
        if not isinstance(skip, list) or not all(isinstance(s, str) for s in skip):
            raise BadRequest("'summary.skip' must be a list of log ids")
        return cls(dict(hwms), list(skip))


@dataclass
class Delta:
    """Batches in flight, kept as JSON texts or parsed objects, whichever arrived."""

    origins: dict[str, OriginInfo] = field(default_factory=dict)
    texts: list[str] | None = None
    parsed: list[dict[str, Any]] | None = None
    more: bool = False
    items: int = 0

    @property
    def empty(self) -> bool:
        return not (self.texts if self.texts is not None else self.parsed)

    def batches_json(self) -> str:
        if self.texts is not None:
            return "[" + ",".join(self.texts) + "]"
        return json.dumps(self.parsed, ensure_ascii=False, separators=(",", ":"))

    def batches(self) -> list[dict[str, Any]]:
        if self.parsed is None:
            self.parsed = validate_batches(json.loads(self.batches_json()))
        return self.parsed

    def origins_json(self) -> dict[str, Any]:
        return {log_id: info.to_json() for log_id, info in self.origins.items()}


class SyncAccess(Protocol):
    """What a session needs of either side (STYLE.md item 8)."""

    def summary(self) -> Summary: ...

    def pull(self, since: Summary, *, max_items: int = MAX_ITEMS,
             max_bytes: int = MAX_BYTES) -> tuple[Delta, Summary]:
        """Items above `since`, and this side's own summary."""
        ...

    def push(self, delta: Delta) -> Summary:
        """Apply the batches in one transaction; raises `SyncGap` if one starts above the
        receiver's hwm. Answers the receiver's summary afterwards."""
        ...


# -- validation --------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return type(value) is int and 0 <= value < _INT_LIMIT


def _is_signed(value: Any) -> bool:
    return type(value) is int and -_INT_LIMIT < value < _INT_LIMIT


def parse_origins(value: Any) -> dict[str, OriginInfo]:
    if not isinstance(value, dict):
        raise BadRequest("'origins' must be an object")
    out = {}
    for log_id, info in value.items():
        if not isinstance(info, dict):
            raise BadRequest("each origin must be an object")
        device_id, label = info.get("device_id"), info.get("label", "")
        hostname, created = info.get("hostname", ""), info.get("created", 0)
        if not (isinstance(device_id, str) and device_id and isinstance(label, str)
                and isinstance(hostname, str) and _is_int(created) and len(log_id) <= 64):
            raise BadRequest(f"origin {log_id!r} is malformed")
        out[log_id] = OriginInfo(log_id, device_id, label, hostname, created)
    return out


_BUCKET_TEXT = ("id", "type", "client", "hostname", "created")


def _check_bucket(item: Any) -> None:
    if not isinstance(item, dict):
        raise BadRequest("bucket items must be objects")
    for name in _BUCKET_TEXT:
        if not isinstance(item.get(name), str):
            raise BadRequest(f"bucket item field {name!r} must be a string")
    if item.get("name") is not None and not isinstance(item["name"], str):
        raise BadRequest("bucket item 'name' must be a string or null")
    item.setdefault("name", None)
    if not (isinstance(item.get("data"), dict) and _is_int(item.get("seq"))
            and isinstance(item.get("deleted"), bool) and _is_int(item.get("epoch"))):
        raise BadRequest("bucket item has a bad data, seq, deleted or epoch field")


def _check_event(item: Any) -> None:
    if not (isinstance(item, list) and len(item) == 6 and _is_int(item[0])
            and isinstance(item[1], str) and _is_signed(item[2]) and _is_int(item[3])
            and _is_int(item[4]) and isinstance(item[5], dict)):
        raise BadRequest("event items must be [origin_id, bucket, start_us, duration_us, "
                         "seq, data]")


def _check_tombstone(item: Any) -> None:
    if not (isinstance(item, list) and len(item) == 3 and _is_int(item[0])
            and isinstance(item[1], str) and _is_int(item[2])):
        raise BadRequest("tombstone items must be [origin_id, bucket, seq]")


def validate_batches(value: Any) -> list[dict[str, Any]]:
    """Type-check every batch fully before anything is written."""
    if not isinstance(value, list):
        raise BadRequest("'batches' must be a list")
    checks: list[tuple[str, Callable[[Any], None]]] = [
        ("buckets", _check_bucket), ("events", _check_event), ("tombstones", _check_tombstone)]
    for batch in value:
        if not (isinstance(batch, dict) and isinstance(batch.get("origin"), str)
                and _is_int(batch.get("from")) and _is_int(batch.get("up_to"))
                and batch["from"] <= batch["up_to"]):
            raise BadRequest("a batch needs 'origin', 'from' ≤ 'up_to'")
        for name, check in checks:
            items = batch.get(name)
            if not isinstance(items, list):
                raise BadRequest(f"batch field {name!r} must be a list")
            for item in items:
                check(item)
        for item in batch["events"] + batch["tombstones"]:
            seq = item[4] if len(item) == 6 else item[2]
            if not batch["from"] < seq <= batch["up_to"]:
                raise BadRequest("a batch item's seq lies outside (from, up_to]")
    return value


# -- the local side ----------------------------------------------------------------------
class LocalAccess:
    """This device's datastore as a `SyncAccess`."""

    def __init__(self, store: Datastore, *,
                 on_handout: Callable[[int], None] | None = None,
                 before_commit: Callable[[], None] | None = None) -> None:
        self.store = store
        self.on_handout = on_handout
        self.before_commit = before_commit

    def summary(self) -> Summary:
        hwms, skip = self.store.sync_summary()
        return Summary(hwms, skip)

    def pull(self, since: Summary, *, max_items: int = MAX_ITEMS,
             max_bytes: int = MAX_BYTES) -> tuple[Delta, Summary]:
        delta = self.store.read_delta(since.hwms, set(since.skip),
                                      max_items=min(max_items, MAX_ITEMS),
                                      max_bytes=min(max_bytes, MAX_BYTES))
        if delta.own_up_to and self.on_handout is not None:
            # Recorded outside the database before any of it leaves (log regression check).
            self.on_handout(delta.own_up_to)
        out = Delta(delta.origins, texts=delta.batches, more=delta.more, items=delta.items)
        return out, self.summary()

    def push(self, delta: Delta) -> Summary:
        self.store.apply_delta(delta.origins, delta.batches(), before_commit=self.before_commit)
        return self.summary()
