"""Today's active time across all devices, for the tray's tooltip.

The figure comes from the embedded server's datastore (`aw_server.activity_today`:
this device plus the mirrors sync brought, a minute on two machines counted once). It
is computed at most once per `REFRESH_S`, in one background thread kept for it (so the
Qt thread never waits on the database, and one connection serves every minute); the
last answer is kept. Nothing is computed until something asks for the line, so
`aw-qt --no-gui`, which shows no tooltip, never pays for it. A failed computation clears the
figure (nothing is better than a wrong number) and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

from aw_qt.background_call import Background
from aw_qt.clock import Clock
from aw_server.activity_today import CombinedActivity

logger = logging.getLogger(__name__)

REFRESH_S = 60.0
US_PER_S = 1_000_000

# (start, end) of the span, as µs since the epoch -> the activity in it
Compute = Callable[[int, int], CombinedActivity]


def day_span(now: datetime, day_start: time) -> tuple[datetime, datetime]:
    """Today as the user's day runs: from the last `day_start` (local time) until now."""
    local = now.astimezone()
    start = datetime.combine(local.date(), day_start).astimezone()
    if start > local:  # after midnight but before the day start: still yesterday
        start = datetime.combine(local.date() - timedelta(days=1), day_start).astimezone()
    return start, local


def format_duration(seconds: float) -> str:
    """`3h 05m`, `12m`: a tooltip's glance, to the minute."""
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def describe(activity: CombinedActivity) -> str | None:
    """The tooltip's line; None when no device records activity at all."""
    if not activity.devices:
        return None
    text = f"Today: {format_duration(activity.combined_us / US_PER_S)} active"
    active = sum(1 for d in activity.devices if d.active_us > 0)
    if active > 1:  # devices idle today are not counted in "on N devices"
        text += f" on {active} devices"
    return text


class TodayActivity:
    """Calls `compute` for today's span now and then, off the Qt thread (see module)."""

    def __init__(self, compute: Compute | None, clock: Clock, day_start: time,
                 *, refresh_s: float = REFRESH_S) -> None:
        self.compute = compute  # None: nothing to ask (an external or no server)
        self.clock = clock
        self.day_start = day_start
        self.refresh_s = refresh_s
        self.latest: CombinedActivity | None = None
        self._call: Background[CombinedActivity] | None = None
        self._started: float | None = None
        self._executor: ThreadPoolExecutor | None = None  # started with the first call
        self._asked = False  # line() was called: someone shows the figure

    def tick(self) -> None:
        """Collect a finished computation; start the next one once `refresh_s` passed."""
        call = self._call
        if call is not None:
            if not call.finished:
                return
            self._call = None
            if call.error is not None:
                logger.warning("today's active time is not shown: %s", call.error)
                self.latest = None
            else:
                self.latest = call.result
        compute = self.compute
        if compute is None or not self._asked:
            return
        now = self.clock.monotonic()
        if self._started is not None and now - self._started < self.refresh_s:
            return
        self._started = now
        start, end = day_span(self.clock.now(), self.day_start)
        span = (int(start.timestamp() * US_PER_S), int(end.timestamp() * US_PER_S))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="aw-qt-today")
        self._call = Background("today", lambda: compute(*span), self._executor)

    def line(self) -> str | None:
        """The tooltip's line, None until known; asking is what starts the updates."""
        self._asked = True
        return None if self.latest is None else describe(self.latest)

    def close(self) -> None:
        """No new computation; one in flight finishes on its own (milliseconds)."""
        self.compute = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
