"""Active time over a span across every device: this one and the mirrors sync brought.

The rule every view of it uses (the tray; the dashboard's "All devices" view): a
device's active periods are its window events cut to its not-AFK periods; a device
without an AFK bucket counts its window events, one with only AFK data its not-AFK
periods. The combined active time is the length of the union of all devices' active
periods, so a minute spent on two machines at once counts once, and the overlap is what
the per-device sum counts twice. In query2 that is
`period_union(filter_period_intersect(window, not_afk), [])` per device, then
`period_union` across devices and `sum_durations`.

Each bucket's events are first flooded as the dashboard's query does
(`flood(query_bucket(...))`): gaps of up to 5 s between neighbours (a watcher's poll
between two window events, say) are filled, so the tray and the dashboard give the same
figure. Only lengths are needed, so this works on (start, end) intervals rather than events
and does not load the query functions or the transforms (about 2 MB in the server's
process, which the tray asks this of once a minute); the query worker is not used
either, since a query a minute would keep that process (and numpy) alive for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aw_server.datastore.store import Datastore
from aw_server.devices import list_devices
from aw_server.errors import NoSuchBucket
from aw_server.models import BucketInfo

WINDOW_TYPE = "currentwindow"
AFK_TYPE = "afkstatus"
NOT_AFK = "not-afk"

PULSETIME_US = 5_000_000  # flood's default gap, as the dashboard's query floods

Interval = tuple[int, int]  # [start, end) in µs since the epoch


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


def flooded(spans: Iterable[tuple[int, int, object]],
            pulsetime_us: int = PULSETIME_US) -> list[tuple[int, int, object]]:
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


def _intervals(store: Datastore, bucket_id: str, start_us: int, end_us: int,
               status: str | None = None) -> list[Interval]:
    """A bucket's events in the span, clipped to it and flooded (then only those whose
    `data.status` is `status`, when given)."""
    try:
        events = store.source.events(bucket_id, start_us, end_us)
    except NoSuchBucket:  # deleted or purged since the device list was read
        return []
    # Window events: any key will do, since a filled gap counts either way.
    spans = flooded((e.timestamp_us, e.end_us, e.data.get("status") if status else None)
                    for e in events)
    return [(start, end) for start, end, key in spans if status is None or key == status]


def device_active_periods(store: Datastore, buckets: list[BucketInfo], start_us: int,
                          end_us: int) -> list[Interval] | None:
    """One device's active periods in the span, or None when it has nothing to tell
    them from (no window bucket and no AFK bucket)."""
    windows = [b.id for b in buckets if b.type == WINDOW_TYPE]
    afks = [b.id for b in buckets if b.type == AFK_TYPE]
    if not windows and not afks:
        return None
    window = union(i for b in windows for i in _intervals(store, b, start_us, end_us))
    if not afks:
        return window
    not_afk = union(i for b in afks for i in _intervals(store, b, start_us, end_us, NOT_AFK))
    return intersect(window, not_afk) if windows else not_afk


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
