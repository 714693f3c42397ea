"""Pure data: events and buckets, and the parsing of their wire JSON.

Times are kept as integer microseconds since the Unix epoch (UTC). Integers make the
heartbeat merge rule, range clipping and the query transforms exact and fast, and a
microsecond is finer than either ActivityWatch server exposes on the wire (the Python
server truncates to milliseconds), so nothing a client sent is lost.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aw_server.errors import BadRequest

US_PER_S = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Events further out than this cannot be represented by datetime; refusing them keeps
# every stored row convertible back to RFC 3339.
MIN_US = -62_135_596_800 * US_PER_S  # 0001-01-01
MAX_US = 253_402_300_799 * US_PER_S  # 9999-12-31T23:59:59

# An event's size is its `data` as stored (compact JSON, UTF-8 bytes). The limit keeps
# every row small enough for one sync batch (docs/sync.md, "Sizes"); it can be set
# between 1 KiB and MAX_EVENT_LIMIT, which a sealed sync message still carries whole.
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
MAX_EVENT_LIMIT = 4 * 1024 * 1024


def dt_to_us(moment: datetime) -> int:
    """Aware datetimes keep their offset; naive ones are taken as UTC, as ActivityWatch does."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def us_to_dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def format_us(us: int) -> str:
    """RFC 3339 in the form aw-server (Python) emits: `isoformat()` of a UTC datetime."""
    return us_to_dt(us).isoformat()


def parse_timestamp(value: Any, field_name: str = "timestamp") -> int:
    """Parse an ISO 8601 / RFC 3339 string (or a datetime) into microseconds.

    Accepts `Z`, offsets, naive strings (UTC) and a space where a URL decoder turned a
    `+` of the offset into a blank.
    """
    if isinstance(value, datetime):
        return dt_to_us(value)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{field_name}' must be an ISO 8601 timestamp string", param=field_name)
    text = value.strip()
    if len(text) > 19 and text[-6] == " " and text[-3] == ":":
        text = text[:-6] + "+" + text[-5:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"'{field_name}' is not a valid ISO 8601 timestamp: {value!r}", param=field_name
        ) from None
    us = dt_to_us(moment)
    if not MIN_US <= us <= MAX_US:
        raise BadRequest(f"'{field_name}' is out of range: {value!r}", param=field_name)
    return us


def parse_duration(value: Any) -> int:
    """Seconds (int or float) into microseconds; negatives and non-finite values are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest("'duration' must be a number of seconds", param="duration")
    if not math.isfinite(value):
        raise BadRequest("'duration' must be finite", param="duration")
    if value < 0:
        raise BadRequest("'duration' must not be negative", param="duration")
    if value > (MAX_US - MIN_US) / US_PER_S:  # checked before scaling: 1e308 * 1e6 is inf
        raise BadRequest("'duration' is too large", param="duration")
    return round(value * US_PER_S)


def seconds(us: int) -> float:
    return us / US_PER_S


@dataclass(slots=True)
class Event:
    """One stretch of time with data. `id` is None until the datastore assigns one."""

    timestamp_us: int
    duration_us: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def end_us(self) -> int:
        return self.timestamp_us + self.duration_us

    @property
    def timestamp(self) -> datetime:
        return us_to_dt(self.timestamp_us)

    @property
    def duration(self) -> float:
        return self.duration_us / US_PER_S

    def copy(self) -> Event:
        return Event(self.timestamp_us, self.duration_us, dict(self.data), self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": format_us(self.timestamp_us),
            "duration": self.duration_us / US_PER_S,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, obj: Any, *, keep_id: bool = False) -> Event:
        """Validate one wire event. Only `timestamp` is required (aw-core's schema)."""
        if not isinstance(obj, dict):
            raise BadRequest("an event must be a JSON object")
        if "timestamp" not in obj:
            raise BadRequest("an event needs a 'timestamp'", param="timestamp")
        timestamp_us = parse_timestamp(obj["timestamp"])
        duration_us = parse_duration(obj.get("duration", 0))
        data = obj.get("data", {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise BadRequest("'data' must be a JSON object", param="data")
        event_id = None
        if keep_id and obj.get("id") is not None:
            raw_id = obj["id"]
            if isinstance(raw_id, bool) or not isinstance(raw_id, int):
                raise BadRequest("'id' must be an integer", param="id")
            event_id = raw_id
        if timestamp_us + duration_us > MAX_US:
            raise BadRequest("the event ends after the year 9999", param="duration")
        return cls(timestamp_us, duration_us, data, event_id)


class ColumnarEvents:
    """Base of the query engine's column-wise event list (`aw_server.event_table`).

    It lives here, free of numpy, so the interpreter and the result encoder can recognise
    one without loading numpy into every process that only parses queries.
    """

    __slots__ = ()

    def __len__(self) -> int:
        raise NotImplementedError

    def to_events(self) -> list[Event]:
        """The same events as `Event` objects, in order."""
        raise NotImplementedError

    def to_json(self) -> list[dict[str, Any]]:
        """Each event's wire JSON, as `Event.to_json` gives it."""
        raise NotImplementedError


def canonical_data(data: dict[str, Any]) -> str:
    """One text per distinct data dict: stored form, dedup key and equality test."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class Bucket:
    id: str
    type: str
    client: str
    hostname: str
    created: str
    data: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    readonly: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "client": self.client,
            "hostname": self.hostname,
            "created": self.created,
            "data": self.data,
        }


def require_str(obj: dict[str, Any], key: str, *, default: str | None = None) -> str:
    value = obj.get(key, default)
    if value is None:
        raise BadRequest(f"missing required field '{key}'", param=key)
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string", param=key)
    return value


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """What the query language may know about a bucket (find_bucket filters on it)."""

    id: str
    type: str
    client: str
    hostname: str


class EventSource(Protocol):
    """The narrow read interface the query language sees; the datastore implements it.

    A source may also offer `event_table(bucket_id, start_us, end_us)`, the same events
    as a columnar `EventTable`; `query_bucket` then uses it (the Datastore does).
    """

    def buckets(self) -> list[BucketInfo]:
        """Every bucket, in creation order (as ActivityWatch lists them)."""
        ...

    def events(self, bucket_id: str, start_us: int, end_us: int) -> list[Event]:
        """Events overlapping [start, end], clipped to it, newest first.

        Raises `NoSuchBucket` for an unknown id.
        """
        ...

    def eventcount(self, bucket_id: str, start_us: int, end_us: int) -> int: ...

    def change_marker(self, bucket_id: str) -> int:
        """A number that changes whenever anything in the bucket changes (cache keys)."""
        ...


class _DictKey(tuple[Any, ...]):
    """A frozen dict: equal only to a frozen dict with the same items, never to a frozen
    list holding the same pairs ({"a": 1} and [["a", 1]] are different values)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is _DictKey and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__


def freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON value (lists and dicts, e.g. "$category" paths)."""
    if isinstance(value, list | tuple):  # tuple: a group key holding list values
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return _DictKey(sorted((k, freeze(v)) for k, v in value.items()))
    return value
