"""Today's combined active time for the tooltip (`aw_qt/today.py`), without a screen, on
the real datastore of a real embedded server holding three devices' buckets."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from aw_qt.today import TodayActivity, day_span, format_duration
from aw_server.activity_today import CombinedActivity, combined_activity
from aw_server.serve import Server
from tests.aw_qt.helpers import FakeClock, wait_for
from tests.aw_qt.today_data import COMBINED_LINE, record_three_devices

NOW = datetime(2026, 11, 23, 14, 0).astimezone()


class Counted:
    """The real computation, counting how often the tray asks for it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.calls = 0
        self.threads: set[int | None] = set()

    def __call__(self, start_us: int, end_us: int) -> CombinedActivity:
        self.calls += 1
        self.threads.add(threading.get_ident())
        return combined_activity(self.server.store, "desk", start_us, end_us)


def settle(today: TodayActivity) -> None:
    """Tick until the computation in flight (if any) has been collected."""
    wait_for(lambda: today._call is None, step=today.tick)


def test_the_line_counts_every_device_and_shared_minutes_once(server: Server,
                                                               tmp_path: Path) -> None:
    record_three_devices(server.store, tmp_path / "others", NOW)
    today = TodayActivity(Counted(server), FakeClock(NOW), time(4, 0))
    assert today.line() is None  # nothing computed yet: nothing shown
    today.tick()
    settle(today)
    assert today.line() == COMBINED_LINE
    assert today.latest is not None and today.latest.overlap_us == 10 * 60_000_000


def test_computed_at_most_once_a_minute(server: Server, tmp_path: Path) -> None:
    record_three_devices(server.store, tmp_path / "others", NOW)
    clock = FakeClock(NOW)
    counted = Counted(server)
    today = TodayActivity(counted, clock, time(4, 0))
    today.tick()
    assert counted.calls == 0  # nobody showed the line yet (aw-qt --no-gui): no work
    today.line()
    for _ in range(5):
        today.tick()
        settle(today)
    assert counted.calls == 1
    clock.advance(59)
    today.tick()
    assert counted.calls == 1
    clock.advance(1)
    today.tick()
    settle(today)
    assert counted.calls == 2 and today.line() == COMBINED_LINE
    # One thread kept for it (one database connection), not a new one each minute.
    assert len(counted.threads) == 1 and threading.get_ident() not in counted.threads
    today.close()


def test_a_failure_shows_nothing_and_is_logged(server: Server, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    record_three_devices(server.store, tmp_path / "others", NOW)
    clock = FakeClock(NOW)
    today = TodayActivity(Counted(server), clock, time(4, 0))
    today.line()
    today.tick()
    settle(today)
    assert today.line() == COMBINED_LINE
    # A database that fails under the next computation (as a broken file would).
    server.store.db.conn().execute("ALTER TABLE event RENAME TO event_moved_away")
    clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="aw_qt.today"):
        today.tick()
        settle(today)
    assert today.line() is None
    assert any("today's active time is not shown" in r.getMessage() for r in caplog.records)


def test_without_an_embedded_server_nothing_is_asked() -> None:
    today = TodayActivity(None, FakeClock(NOW), time(4, 0))
    today.line()
    today.tick()
    assert today._call is None and today.line() is None


def test_the_day_starts_at_day_start_local_time() -> None:
    start, end = day_span(datetime(2026, 11, 23, 14, 0).astimezone(), time(4, 0))
    assert (start.date().day, start.hour, end.hour) == (23, 4, 14)
    start, _ = day_span(datetime(2026, 11, 23, 2, 30).astimezone(), time(4, 0))
    assert (start.date().day, start.hour) == (22, 4)  # 02:30 still belongs to the 22nd


def test_devices_idle_today_are_not_counted_in_the_line(server: Server,
                                                        tmp_path: Path) -> None:
    record_three_devices(server.store, tmp_path / "others", NOW)
    evening = NOW.replace(hour=23)  # a clock past the data: this day still shows it
    today = TodayActivity(Counted(server), FakeClock(evening), time(4, 0))
    today.line()
    today.tick()
    settle(today)
    assert today.line() == COMBINED_LINE
    tomorrow = TodayActivity(Counted(server), FakeClock(NOW + timedelta(days=1)), time(4, 0))
    tomorrow.line()
    tomorrow.tick()
    settle(tomorrow)
    assert tomorrow.line() == "Today: 0m active"  # three devices known, none active
    today.close()
    tomorrow.close()


def test_durations_read_at_a_glance() -> None:
    assert [format_duration(s) for s in (0, 59, 61, 3600, 3 * 3600 + 5 * 60 + 59)] == [
        "0m", "0m", "1m", "1h 00m", "3h 05m"]
