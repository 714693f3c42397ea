"""Three devices' activity for the tray's "today" figure: this device's buckets in the
server's datastore, and two more devices' brought into it by the real in-process sync."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from aw_server.datastore.store import Datastore
from aw_server.models import Bucket, Event
from tests.aw_server.sync.helpers import sync

MIN_US = 60_000_000
# this device 20 min, the laptop 30 min (10 of them with this device), an AFK-only
# device 15 min: 55 min once the shared 10 count once.
COMBINED_LINE = "Today: 55m active on 3 devices"


def _buckets(store: Datastore, host: str, window: bool) -> tuple[str, str]:
    created = "2024-01-01T00:00:00+00:00"
    ids = f"aw-watcher-window_{host}", f"aw-watcher-afk_{host}"
    if window:
        store.buckets.create(Bucket(ids[0], "currentwindow", "aw-watcher-window", host,
                                    created))
    store.buckets.create(Bucket(ids[1], "afkstatus", "aw-watcher-afk", host, created))
    return ids


def _record(store: Datastore, host: str, base: int, window: tuple[int, int] | None,
            afk: list[tuple[int, int, str]]) -> None:
    window_id, afk_id = _buckets(store, host, window is not None)
    if window is not None:
        store.events.insert(window_id, [Event(base + window[0] * MIN_US,
                                              (window[1] - window[0]) * MIN_US,
                                              {"app": "Editor", "title": host})])
    store.events.insert(afk_id, [Event(base + a * MIN_US, (b - a) * MIN_US, {"status": s})
                                 for a, b, s in afk])


def record_three_devices(store: Datastore, folder: Path, day: datetime) -> None:
    """Activity from 10:00 on `day` (local time) on this device and two others."""
    base = int((day.replace(hour=10, minute=0, second=0, microsecond=0)).timestamp()
               * 1_000_000)
    _record(store, "desk", base, (0, 30), [(0, 20, "not-afk"), (20, 30, "afk")])
    folder.mkdir(parents=True, exist_ok=True)
    for name, window, afk in (
            ("laptop", (10, 40), [(5, 10, "afk"), (10, 40, "not-afk")]),
            ("server", None, [(60, 75, "not-afk"), (75, 90, "afk")])):
        other = Datastore(folder / f"{name}.sqlite")
        try:
            _record(other, name, base, window, afk)
            sync(store, other)
        finally:
            other.close()


def before(day: datetime) -> datetime:
    """A moment of `day` before any of the activity above."""
    return day.replace(hour=9, minute=0) - timedelta(minutes=1)
