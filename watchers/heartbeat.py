"""Heartbeat events and the pure rules the watchers and the client apply to them.

Times are integer microseconds since the Unix epoch (UTC), as in the server's models:
integers make the merge rule exact, so the client's pre-merge and the server's merge
can never disagree by a rounding step. Nothing here does I/O or reads a clock; every
function takes the time it needs, which is what lets the tests drive them with a fake
clock.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

US_PER_S = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def s_to_us(seconds: float) -> int:
    """Round rather than truncate: 0.1 s must stay 100 000 µs, not 99 999."""
    return round(seconds * US_PER_S)


def us_to_iso(us: int) -> str:
    """RFC 3339 with an explicit UTC offset, the form both ActivityWatch servers accept."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


def iso_to_us(text: str) -> int:
    """Parse the timestamps the server returns (with offset, or naive meaning UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


@dataclass(frozen=True)
class Event:
    """One heartbeat: a moment, how long it lasted so far, and what was observed."""

    timestamp: int
    duration: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.timestamp + self.duration

    def to_json(self) -> dict[str, Any]:
        """The wire shape of `POST .../heartbeat` (ActivityWatch's Event without an id)."""
        return {
            "timestamp": us_to_iso(self.timestamp),
            "duration": self.duration / US_PER_S,
            "data": self.data,
        }

    def dumps(self) -> str:
        """Compact JSON for the on-disk queue; `loads` is its exact inverse."""
        return json.dumps(
            {"t": self.timestamp, "d": self.duration, "data": self.data},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> Event:
        raw = json.loads(text)
        return cls(timestamp=int(raw["t"]), duration=int(raw["d"]), data=dict(raw["data"]))


def merge(last: Event, heartbeat: Event, pulsetime_us: int) -> Event | None:
    """ActivityWatch's heartbeat rule, exactly as both servers apply it.

    Merge iff the data are equal and the heartbeat starts inside
    `[last.timestamp, last.end + pulsetime]`; the merged event keeps `last`'s start and
    ends at the later of both ends. A negative duration is refused, as the servers do.
    Returns None when the two do not merge.
    """
    if last.duration < 0 or last.data != heartbeat.data:
        return None
    if not last.timestamp <= heartbeat.timestamp <= last.end + pulsetime_us:
        return None
    end = max(last.end, heartbeat.end)
    return replace(last, duration=end - last.timestamp)


@dataclass(frozen=True)
class PremergeStep:
    """What one heartbeat does to the client's cache: maybe an event to send, and the new cache."""

    send: Event | None
    pending: Event


def premerge(
    pending: Event | None, heartbeat: Event, pulsetime_us: int, commit_interval_us: int
) -> PremergeStep:
    """aw-client's `commit_interval` pre-merge, so the server sees one request per ~10 s.

    The first heartbeat is only cached. A heartbeat that merges into the cache extends
    it; once the merged event is at least `commit_interval` long it is sent and the
    heartbeat itself becomes the new cache (the server merges the two pieces again,
    because the second starts where the first ends). A heartbeat that does not merge
    sends the cache and replaces it.
    """
    if pending is None:
        return PremergeStep(send=None, pending=heartbeat)
    merged = merge(pending, heartbeat, pulsetime_us)
    if merged is None:
        return PremergeStep(send=pending, pending=heartbeat)
    if merged.duration >= commit_interval_us:
        return PremergeStep(send=merged, pending=heartbeat)
    return PremergeStep(send=None, pending=merged)


def window_pulsetime(poll_time: float) -> float:
    """Current aw-watcher-window: `max(1.5·poll, poll+1)` (activitywatch#1177).

    A fixed one-second margin broke heartbeat chains when scheduling jitter exceeded
    it at longer poll times; scaling with the poll keeps them merged.
    """
    return max(1.5 * poll_time, poll_time + 1.0)


def afk_pulsetime(timeout: float, poll_time: float) -> float:
    """aw-watcher-afk: `timeout + poll`, so an AFK event that grows by whole polls merges."""
    return timeout + poll_time


def backoff_delay(failures: int, base: float = 0.5, cap: float = 5.0) -> float:
    """Seconds to wait after `failures` consecutive failed attempts (1, 2, …).

    Doubling from `base` keeps a briefly restarting server from seeing a burst of
    retries, and the low cap means a local server that comes back is found within a
    few seconds. Refused local connections cost microseconds, so a small cap is cheap.
    """
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, 32))


class Clock(Protocol):
    """Where the watchers get time from; tests pass a fake one."""

    def now_us(self) -> int:
        """Wall-clock time in µs since the epoch: what events are stamped with."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps: what intervals are measured with."""
        ...


class SystemClock:
    """The real clocks."""

    def now_us(self) -> int:
        return time.time_ns() // 1000

    def monotonic(self) -> float:
        return time.monotonic()
