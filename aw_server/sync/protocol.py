"""The awsync/2 wire objects, their validation, and the `SyncAccess` Protocol.

A session moves deltas between two `SyncAccess` implementations: `LocalAccess` (this
device's datastore, `local.py`) and `RemotePeer` (another device over sealed HTTP,
`client.py`). The same session code therefore runs pull (remote → local) and push
(local → remote). This module holds only the wire types and their checks, so `trust.py`
can use them without importing the datastore side.

Batch (JSON object), signed by the log's origin over its items' entries (docs/sync.md §11):
    {"origin": log_id, "from": h, "up_to": u,
     "buckets": [{"id", "name", "type", "client", "hostname", "created", "seq",
                  "deleted", "epoch", "data"}],
     "events": [[origin_id, bucket, start_us, duration_us, seq, data], ...],
     ... where every `data` is a JSON string holding the origin's stored text exactly,
     "tombstones": [[origin_id, bucket, seq], ...],
     "held": [[seq, digest], ...],      # versions a relay no longer holds: entries only
     "sig": signature}
Structure (types, ranges of seqs) is checked for the whole message; an item's *values*
(its data, its time, its size) are checked one by one when it is applied, so one bad
row costs that row only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aw_server.datastore.sync_items import (
    DIGEST_BYTES,
    OriginInfo,
    SegmentHeader,
    b64,
    unb64,
)
from aw_server.errors import BadRequest
from aw_server.sync import signing

PROTO = 2
MAX_ITEMS = 2000
MAX_BYTES = 1024 * 1024
MAX_BODY = 8 * 1024 * 1024  # sealed request or response body, before anything is parsed
_INT_LIMIT = 2**62


@dataclass
class Summary:
    """What one side holds of each log (high-water marks), the logs it refuses, the
    revocations it knows (by id), and its best proof of what the other side's own log
    handed out (`tip`, the log regression check of docs/sync.md §6)."""

    hwms: dict[str, int] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)
    rv: list[str] = field(default_factory=list)
    tip: SegmentHeader | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hwms": self.hwms, "skip": self.skip, "rv": self.rv}
        if self.tip is not None:
            out["tip"] = self.tip.to_json()
        return out

    def skipping(self, logs: set[str]) -> Summary:
        return Summary(self.hwms, sorted(set(self.skip) | logs), self.rv, self.tip)

    @classmethod
    def from_json(cls, value: Any) -> Summary:
        if not isinstance(value, dict):
            raise BadRequest("'summary' must be an object")
        hwms, skip, rv = value.get("hwms", {}), value.get("skip", []), value.get("rv", [])
        if not isinstance(hwms, dict) or not all(
            isinstance(k, str) and _is_int(v) for k, v in hwms.items()
        ):
            raise BadRequest("'summary.hwms' must map log ids to integers")
        for name, items in (("skip", skip), ("rv", rv)):
            if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
                raise BadRequest(f"'summary.{name}' must be a list of strings")
        tip = value.get("tip")
        return cls(dict(hwms), list(skip), list(rv),
                   None if tip is None else parse_header(tip))


@dataclass
class Refusal:
    """A log's batches this side would not apply, and why (sent back, sealed)."""

    log_id: str
    device_id: str
    reason: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"origin": self.log_id, "device_id": self.device_id, "error": self.reason,
                "message": self.message}

    @classmethod
    def from_json(cls, value: Any) -> Refusal:
        if not isinstance(value, dict):
            raise BadRequest("a refusal must be an object")
        parts = [value.get(k) for k in ("origin", "device_id", "error", "message")]
        if not all(isinstance(p, str) for p in parts):
            raise BadRequest("a refusal needs origin, device_id, error and message")
        return cls(*[str(p) for p in parts])


@dataclass
class Delta:
    """Batches in flight, kept as JSON texts or parsed objects, whichever arrived; who
    sent them (`sender`, `sender_key`) and the revocations that travel with them."""

    origins: dict[str, OriginInfo] = field(default_factory=dict)
    texts: list[str] | None = None
    parsed: list[dict[str, Any]] | None = None
    more: bool = False
    items: int = 0
    sender: str = ""
    sender_key: bytes | None = None
    revocations: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # own items the sender left out (too large)

    @property
    def empty(self) -> bool:
        return not (self.texts if self.texts is not None else self.parsed)

    @property
    def idle(self) -> bool:
        """Nothing at all to hand over."""
        return self.empty and not self.revocations

    def batches_json(self) -> str:
        if self.texts is not None:
            return "[" + ",".join(self.texts) + "]"
        return json.dumps([_batch_to_json(b) for b in self.parsed or []], ensure_ascii=False,
                          separators=(",", ":"))

    def batches(self) -> list[dict[str, Any]]:
        if self.parsed is None:
            self.parsed = validate_batches(json.loads(self.batches_json()))
        return self.parsed

    def origins_json(self) -> dict[str, Any]:
        return {log_id: info.to_json() for log_id, info in self.origins.items()}

    def body(self) -> str:
        """The push request (or the batch part of a pull answer) as JSON text."""
        return (f'{{"origins":{json.dumps(self.origins_json())},'
                f'"batches":{self.batches_json()},'
                f'"key":{json.dumps(b64(self.sender_key or b""))},'
                f'"revocations":{json.dumps(self.revocations)}}}')


class SyncAccess(Protocol):
    """What a session needs of either side: pull and push are then one session loop,
    and the in-process tests run the very loop the servers run."""

    def summary(self) -> Summary: ...

    def pull(self, since: Summary, *, max_items: int = MAX_ITEMS,
             max_bytes: int = MAX_BYTES) -> tuple[Delta, Summary]:
        """Items above `since`, and this side's own summary."""
        ...

    def push(self, delta: Delta) -> tuple[Summary, list[Refusal], int]:
        """Apply the batches in one transaction; raises `SyncGap` if one starts above the
        receiver's hwm. Answers the receiver's summary afterwards, the logs it refused
        and how many items it skipped (stored nowhere, with a recorded error each)."""
        ...


# -- validation --------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return type(value) is int and 0 <= value < _INT_LIMIT


def _is_signed(value: Any) -> bool:
    return type(value) is int and -_INT_LIMIT < value < _INT_LIMIT


def parse_header(value: Any) -> SegmentHeader:
    if not isinstance(value, dict):
        raise BadRequest("a batch header must be an object")
    log_id, start, up_to, count = (value.get(k) for k in ("origin", "from", "up_to", "count"))
    entries_hash, sig = unb64(value.get("hash"), 32), unb64(value.get("sig"), signing.SIG_BYTES)
    if not (isinstance(log_id, str) and type(start) is int and type(up_to) is int
            and type(count) is int and entries_hash is not None and sig is not None):
        raise BadRequest("a batch header needs origin, from, up_to, count, hash and sig")
    return SegmentHeader(log_id, start, up_to, count, entries_hash, sig)


def parse_origins(value: Any) -> dict[str, OriginInfo]:
    if not isinstance(value, dict):
        raise BadRequest("'origins' must be an object")
    out = {}
    for log_id, info in value.items():
        if not isinstance(info, dict):
            raise BadRequest("each origin must be an object")
        device_id, label = info.get("device_id"), info.get("label", "")
        hostname, created = info.get("hostname", ""), info.get("created", 0)
        key, cert = unb64(info.get("key", "")), unb64(info.get("cert", ""))
        if not (isinstance(device_id, str) and device_id and isinstance(label, str)
                and isinstance(hostname, str) and _is_int(created) and len(log_id) <= 64
                and len(device_id) <= 64 and key is not None and cert is not None):
            raise BadRequest(f"origin {log_id!r} is malformed")
        out[log_id] = OriginInfo(log_id, device_id, label[:255], hostname[:255], created,
                                 key, cert)
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
    if not (isinstance(item.get("data"), str) and _is_int(item.get("seq"))
            and isinstance(item.get("deleted"), bool) and _is_int(item.get("epoch"))):
        raise BadRequest("bucket item has a bad data, seq, deleted or epoch field")


def _check_event(item: Any) -> None:
    if not (isinstance(item, list) and len(item) == 6 and _is_int(item[0])
            and isinstance(item[1], str) and _is_signed(item[2]) and _is_signed(item[3])
            and _is_int(item[4]) and isinstance(item[5], str)):
        raise BadRequest("event items must be [origin_id, bucket, start_us, duration_us, "
                         "seq, data text]")


def _check_tombstone(item: Any) -> None:
    if not (isinstance(item, list) and len(item) == 3 and _is_int(item[0])
            and isinstance(item[1], str) and _is_int(item[2])):
        raise BadRequest("tombstone items must be [origin_id, bucket, seq]")


def _held(batch: dict[str, Any]) -> list[tuple[int, bytes]]:
    held = batch.get("held", [])
    if not isinstance(held, list):
        raise BadRequest("batch field 'held' must be a list")
    out = []
    for item in held:
        entry = unb64(item[1], DIGEST_BYTES) if (
            isinstance(item, list) and len(item) == 2 and _is_int(item[0])) else None
        if entry is None or not batch["from"] < item[0]:
            raise BadRequest("held items must be [seq, digest] with seq above 'from'")
        out.append((item[0], entry))
    return out


def validate_batches(value: Any) -> list[dict[str, Any]]:
    """Type-check every batch fully before anything is written; `held` entries and the
    signature are decoded in place."""
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
        if any(not batch["from"] < item["seq"] for item in batch["buckets"]):
            raise BadRequest("a bucket item's seq lies at or below 'from'")
        batch["held"] = _held(batch)
        sig = batch.get("sig")  # none: an older version, refused per log (`trust.py`)
        batch["sig"] = b"" if sig in (None, "") else unb64(sig, signing.SIG_BYTES)
        if batch["sig"] is None:
            raise BadRequest("a batch's 'sig' must be a base64url signature")
    return value


def _batch_to_json(batch: dict[str, Any]) -> dict[str, Any]:
    """A parsed batch back into its wire form (a relay forwarding it unchanged)."""
    return {**batch, "held": [[seq, b64(d)] for seq, d in batch["held"]],
            "sig": b64(batch["sig"])}


def parse_push(request: dict[str, Any], sender: str) -> Delta:
    """A push request (or a pull answer) into a `Delta` from `sender`."""
    key = unb64(request.get("key", ""))
    revocations = request.get("revocations", [])
    if not isinstance(revocations, list) or len(revocations) > 10_000:
        raise BadRequest("'revocations' must be a list")
    batches = validate_batches(request.get("batches"))
    return Delta(parse_origins(request.get("origins")), parsed=batches, sender=sender,
                 sender_key=key or None, revocations=revocations,
                 items=sum(len(b["events"]) + len(b["tombstones"]) for b in batches))
