"""Active time over a span across every device: this one and the mirrors sync brought.

The rule every view of it uses (the tray; the dashboard's "All devices" view): a
device's active periods are its window events cut to its not-AFK periods, where a
browser tab playing sound (`audible`) while that browser's window is focused counts as
not AFK (a video, a call); a device without an AFK bucket counts its window events, one
with only AFK data its not-AFK periods. The combined active time is the length of the
union of all devices' active periods, so a minute spent on two machines at once counts
once, and the overlap is what the per-device sum counts twice. Of each kind, a device's
buckets are those of the watcher's own id (`aw-watcher-window_<host>`, any host the
device had, mirrors included), else the first other bucket of the type (an import), as
the dashboard picks them (`bucketsByKind` in `js/devices.js`).

Each bucket's events are first flooded as the dashboard's query does
(`flood(query_bucket(...))`): gaps of up to 5 s between neighbours (a watcher's poll
between two window events, say) are filled, so the tray and the dashboard give the same
figure; a test runs the dashboard's own program against this. Only lengths are needed,
so this works on (start, end) intervals rather than events and does not load the query
functions or the transforms (about 2 MB in the server's process, which the tray asks
this of once a minute); the query worker is not used either, since a query a minute
would keep that process (and numpy) alive for good.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aw_server.browsers import browser_app_pattern, is_browser_bucket
from aw_server.datastore.store import Datastore
from aw_server.devices import list_devices
from aw_server.errors import NoSuchBucket
from aw_server.models import BucketInfo

WINDOW_TYPE = "currentwindow"
AFK_TYPE = "afkstatus"
NOT_AFK = "not-afk"

PULSETIME_US = 5_000_000  # flood's default gap, as the dashboard's query floods

Interval = tuple[int, int]  # [start, end) in µs since the epoch
Span = tuple[int, int, dict[str, Any]]  # an event's [start, end) and its data
Key = TypeVar("Key")  # what flood compares neighbours by


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering exactly what `intervals` cover."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Where two sorted, disjoint interval lists both cover (a two-pointer sweep)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def length(intervals: Iterable[Interval]) -> int:
    return sum(end - start for start, end in intervals)


@dataclass(frozen=True)
class DeviceActivity:
    device_id: str
    label: str
    active_us: int


@dataclass(frozen=True)
class CombinedActivity:
    """Active time over one span: the union across devices, and each device's own."""

    combined_us: int
    devices: tuple[DeviceActivity, ...]  # those with any window or AFK bucket

    @property
    def overlap_us(self) -> int:
        """What the devices' own totals count twice (time active on several at once)."""
        return sum(d.active_us for d in self.devices) - self.combined_us


def flooded(spans: Iterable[tuple[int, int, Key]],
            pulsetime_us: int = PULSETIME_US) -> list[tuple[int, int, Key]]:
    """flood's gap filling on (start, end, key) spans of one bucket: a gap of up to
    `pulsetime_us` between neighbours goes to the earlier one when their keys are equal,
    and is split at its midpoint (rounded as flood rounds) when they differ."""
    out: list[list[Any]] = []
    for start, end, key in sorted(spans, key=lambda span: (span[0], span[1])):
        if out:
            before = out[-1]
            gap = start - before[1]
            if 0 < gap <= pulsetime_us:
                if key == before[2]:
                    before[1] = start
                else:
                    half = gap >> 1
                    before[1] = start = before[1] + half + (gap & half & 1)
        out.append([start, end, key])
    return [(start, end, key) for start, end, key in out]


def _spans(store: Datastore, bucket_id: str, start_us: int, end_us: int) -> list[Span]:
    """A bucket's events in the span, clipped to it and flooded (gaps split by data)."""
    try:
        events = store.source.events(bucket_id, start_us, end_us)
    except NoSuchBucket:  # deleted or purged since the device list was read
        return []
    return flooded((e.timestamp_us, e.end_us, e.data) for e in events)


def _where(spans: Iterable[Span], keep: Callable[[dict[str, Any]], bool]) -> list[Interval]:
    return union((start, end) for start, end, data in spans if keep(data))


def watcher_buckets(buckets: list[BucketInfo], bucket_type: str, prefix: str) -> list[str]:
    """The watcher's own buckets of a type (`<prefix>_<host>`), else the first other one."""
    typed = [b.id for b in buckets if b.type == bucket_type]
    own = [bucket_id for bucket_id in typed if bucket_id.startswith(f"{prefix}_")]
    return own or typed[:1]


def _runs(browser: re.Pattern[str]) -> Callable[[dict[str, Any]], bool]:
    """Whether a window event's `app` is that browser's (a search, as the dashboard's)."""
    return lambda data: isinstance(data.get("app"), str) and bool(browser.search(data["app"]))


def _audible(store: Datastore, buckets: list[BucketInfo], windows: list[Span], start_us: int,
             end_us: int) -> list[Interval]:
    """Where a browser's tab played sound while that browser's window was focused."""
    out: list[Interval] = []
    for bucket in buckets:
        if not is_browser_bucket(bucket.id, bucket.type):
            continue
        pattern = browser_app_pattern(bucket.id)
        if pattern is None:
            continue
        focused = _where(windows, _runs(pattern))
        if focused:
            tabs = _where(_spans(store, bucket.id, start_us, end_us),
                          lambda data: data.get("audible") in (True,))
            out.extend(intersect(tabs, focused))
    return out


def device_active_periods(store: Datastore, buckets: list[BucketInfo], start_us: int,
                          end_us: int) -> list[Interval] | None:
    """One device's active periods in the span, or None when it has nothing to tell
    them from (no window bucket and no AFK bucket)."""
    windows = watcher_buckets(buckets, WINDOW_TYPE, "aw-watcher-window")
    afks = watcher_buckets(buckets, AFK_TYPE, "aw-watcher-afk")
    if not windows and not afks:
        return None
    window_spans = [span for b in windows for span in _spans(store, b, start_us, end_us)]
    window = union((start, end) for start, end, _data in window_spans)
    if not afks:
        return window
    not_afk = [i for b in afks for i in _where(_spans(store, b, start_us, end_us),
                                               lambda data: data.get("status") == NOT_AFK)]
    if not windows:
        return union(not_afk)
    not_afk += _audible(store, buckets, window_spans, start_us, end_us)
    return intersect(window, union(not_afk))


def combined_activity(store: Datastore, hostname: str, start_us: int,
                      end_us: int) -> CombinedActivity:
    """Active time of every device in [start_us, end_us), by the rule above.

    `hostname` is this server's (as `list_devices` takes it). Devices are keyed by
    device id, so two machines that share a hostname still count as two.
    """
    info = {b.id: b for b in store.source.buckets()}
    devices: list[DeviceActivity] = []
    everything: list[Interval] = []
    for device in list_devices(store, hostname):
        buckets = [info[b] for b in device["buckets"] if b in info]
        periods = device_active_periods(store, buckets, start_us, end_us)
        if periods is None:
            continue
        devices.append(DeviceActivity(device["device_id"], device["label"], length(periods)))
        everything.extend(periods)
    return CombinedActivity(length(union(everything)), tuple(devices))
