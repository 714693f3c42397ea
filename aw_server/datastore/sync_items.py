"""Sync items in their signed form, and the digests an origin signs (docs/sync.md §11).

Every item of a batch (bucket version, event version, tombstone) has one *signed text*,
built from its stored values with `data` exactly as the origin stores it. On the wire
`data` travels as a JSON string holding that text, so every receiver and relay keeps
the very same bytes and can rebuild the signed text: no re-encoding, nothing to
canonicalise. The digest of an item is SHA-256 of a kind byte and its signed text, cut
to 16 bytes (the origin signs these; a relay would need a second preimage to swap an
item, 2^128 work). A batch's *entries* are (seq, digest) for each item, sorted by seq:
the origin signs (log id, from, up_to, count, SHA-256 of the entries), so a receiver
checks every item without asking the origin, and a relay can pass on a version it no
longer holds as its entry alone (`held`), never changing or adding one.

Pure functions only: the datastore uses them to build and store batches, the sync layer
to check what arrives. Nothing here reads the database or needs `cryptography`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from aw_server.datastore.rows import text_size
from aw_server.errors import AWError
from aw_server.models import MAX_US, MIN_US

ORIGIN_KEY = "$aw.sync.origin"
REVOKED_KEY = "$aw.sync.revoked"
DIGEST_BYTES = 16
ENTRY_BYTES = 8 + DIGEST_BYTES
KIND_BUCKET, KIND_EVENT, KIND_TOMBSTONE = b"B", b"E", b"T"


class SyncGap(AWError):
    """A batch starts above what the receiver holds of that origin (409 `gap`)."""

    error_type = "gap"


class SyncRejected(AWError):
    """A message that cannot be applied as a whole: nothing is written."""

    error_type = "SyncRejected"


@dataclass(frozen=True, slots=True)
class OriginInfo:
    """A change log as a batch names it. `key` and `cert` (the device's public key and
    its signature over the log's identity) are what make it believable."""

    log_id: str
    device_id: str
    label: str
    hostname: str
    created: int
    key: bytes = b""
    cert: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "label": self.label,
                "hostname": self.hostname, "created": self.created,
                "key": b64(self.key), "cert": b64(self.cert)}


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    """What an origin signs for one batch of its log."""

    log_id: str
    start: int  # the batch's `from`
    up_to: int
    count: int
    entries_hash: bytes
    sig: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.log_id, "from": self.start, "up_to": self.up_to,
                "count": self.count, "hash": b64(self.entries_hash), "sig": b64(self.sig)}


@dataclass(frozen=True, slots=True)
class Skipped:
    """One item left out of sync, and why (recorded, shown to the user)."""

    seq: int
    origin_id: int
    bucket: str
    size: int
    reason: str


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unb64(text: Any, length: int | None = None) -> bytes | None:
    """base64url text into bytes (of `length`, if given); None when it is not."""
    if not isinstance(text, str) or len(text) > 256:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None
    return raw if length is None or len(raw) == length else None


def short_device_id(device_id: str) -> str:
    """First 7 base32 characters of the device id's bytes (mirror bucket suffix)."""
    try:
        raw = uuid.UUID(device_id).bytes
    except ValueError:
        raw = device_id.encode("utf-8")
    return base64.b32encode(raw).decode("ascii").lower()[:7]


# -- canonical texts and digests ----------------------------------------------------------
def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def quote_data(text: str) -> str:
    """A stored `data` text as a JSON string (any correct encoding will do: receivers
    keep the decoded text, never this form); orjson is five times faster."""
    try:
        return orjson.dumps(text).decode("utf-8")
    except TypeError:  # a lone surrogate (never in texts this program writes)
        return json.dumps(text)


def parse_data(text: str) -> Any:
    """The value of a `data` text, or `None` when it is not valid JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # orjson refuses NaN and integers beyond 64 bits, which `json` reads
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def digest(kind: bytes, text: str) -> bytes:
    return hashlib.sha256(kind + text.encode("utf-8", "surrogatepass")).digest()[:DIGEST_BYTES]


def event_head(oid: int, quoted_bucket: str, start: int, duration: int, seq: int) -> str:
    """An event item up to its data: `head + data + "]"` is the item (signed: the data
    text itself; on the wire: that text as a JSON string)."""
    return f"[{oid},{quoted_bucket},{start},{duration},{seq},"


def event_text(oid: int, quoted_bucket: str, start: int, duration: int, seq: int,
               data_text: str) -> str:
    return event_head(oid, quoted_bucket, start, duration, seq) + data_text + "]"


def tombstone_text(oid: int, quoted_bucket: str, seq: int) -> str:
    return f"[{oid},{quoted_bucket},{seq}]"


def bucket_text(b: str, name: str | None, type_: str, client: str, hostname: str,
                created: str, seq: int, deleted: bool, epoch: int, data_text: str) -> str:
    head = json.dumps({"id": b, "name": name, "type": type_, "client": client,
                       "hostname": hostname, "created": created, "seq": seq,
                       "deleted": deleted, "epoch": epoch},
                      ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + ',"data":' + data_text + "}"


def entries_blob(entries: list[tuple[int, bytes]]) -> bytes:
    """(seq, digest) pairs as stored and hashed: 8-byte big-endian seq, then digest."""
    entries.sort(key=lambda e: e[0])
    return b"".join(seq.to_bytes(8, "big") + d for seq, d in entries)


def parse_entries(blob: bytes) -> dict[int, bytes]:
    return {int.from_bytes(blob[i:i + 8], "big"): blob[i + 8:i + ENTRY_BYTES]
            for i in range(0, len(blob), ENTRY_BYTES)}


def entries_hash(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()


# -- an arriving batch, checked item by item ------------------------------------------------
@dataclass
class PreparedBatch:
    """A structurally valid batch with every item's digest computed once. Items with
    unusable values stay in `entries` (the origin signed them) but are kept out of
    `buckets`/`events`/`tombstones` and listed in `skipped`."""

    header: SegmentHeader
    blob: bytes
    buckets: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    events: list[tuple[int, str, int, int, int, str]] = field(default_factory=list)
    tombstones: list[tuple[int, str, int]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _encodable(*texts: Any) -> bool:
    try:
        for text in texts:
            if isinstance(text, str):
                text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bucket_problem(item: dict[str, Any], limit: int) -> str | None:
    if not isinstance(parse_data(item["data"]), dict):
        return "its data is not a JSON object"
    if not _encodable(item["id"], item["name"], item["type"], item["client"],
                      item["hostname"], item["created"], item["data"]):
        return "a field holds text that is not valid Unicode"
    if text_size(item["data"]) > limit:
        return f"its data is {text_size(item['data'])} bytes, above the limit of {limit}"
    return None


def _event_problem(start: int, duration: int, data_text: str, limit: int) -> str | None:
    if duration < 0:
        return "its duration is negative"
    if not MIN_US <= start <= MAX_US or start + duration > MAX_US:
        return "its time lies outside the years 1 to 9999"
    if len(data_text) > limit // 4 and text_size(data_text) > limit:
        return f"its data is {text_size(data_text)} bytes, above the limit of {limit}"
    if not data_text.isascii() and not _encodable(data_text):
        return "its data is not valid Unicode"
    if not isinstance(parse_data(data_text), dict):
        return "its data is not a JSON object"
    return None


def prepare_batch(batch: dict[str, Any], limit: int) -> PreparedBatch:
    """Digests and entries of a validated batch (`protocol.py`); items above `limit`
    bytes or with values this store cannot hold are set aside, one `Skipped` each. The
    header's signature is the sender's claim, checked by the caller."""
    entries: list[tuple[int, bytes]] = []
    out = PreparedBatch(SegmentHeader("", 0, 0, 0, b""), b"")
    for item in batch["buckets"]:
        text = bucket_text(item["id"], item["name"], item["type"], item["client"],
                           item["hostname"], item["created"], item["seq"], item["deleted"],
                           item["epoch"], item["data"])
        entries.append((item["seq"], digest(KIND_BUCKET, text)))
        problem = _bucket_problem(item, limit)
        if problem is None:
            out.buckets.append((item, item["data"]))
        else:
            out.skipped.append(Skipped(item["seq"], 0, str(item["id"]), text_size(text),
                                       f"bucket: {problem}"))
    quoted: dict[str, tuple[str, bool]] = {}
    quarter = limit // 4
    for oid, b, start, duration, seq, data_text in batch["events"]:
        known = quoted.get(b)
        if known is None:
            known = quoted[b] = (quote(b), _encodable(b))
        qb, usable = known
        entries.append((seq, digest(KIND_EVENT, event_head(oid, qb, start, duration, seq)
                                    + data_text + "]")))
        # The usual event passes these four in a few comparisons; the rest are explained.
        if (usable and duration >= 0 and start >= MIN_US and start + duration <= MAX_US
                and len(data_text) <= quarter and data_text.isascii()
                and type(parse_data(data_text)) is dict):
            out.events.append((oid, b, start, duration, seq, data_text))
            continue
        problem = _event_problem(start, duration, data_text, limit) if usable \
            else "its bucket id is not valid Unicode"
        if problem is None:
            out.events.append((oid, b, start, duration, seq, data_text))
        else:
            out.skipped.append(Skipped(seq, oid, b, text_size(data_text),
                                       f"event: {problem}"))
    for oid, b, seq in batch["tombstones"]:
        entries.append((seq, digest(KIND_TOMBSTONE, tombstone_text(oid, quote(b), seq))))
        if _encodable(b):
            out.tombstones.append((oid, b, seq))
        else:
            out.skipped.append(Skipped(seq, oid, "?", 0, "tombstone: bad bucket id"))
    entries += batch["held"]
    out.blob = entries_blob(entries)
    out.header = SegmentHeader(batch["origin"], batch["from"], batch["up_to"], len(entries),
                               entries_hash(out.blob), batch["sig"])
    return out
