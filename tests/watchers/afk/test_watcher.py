"""The AFK state machine with a fake clock, and the poll loop with a scripted idle source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.watchers.fakeserver import FakeServer
from watchers.afk.watcher import AfkSettings, AfkStateMachine, AfkWatcher
from watchers.client import Client
from watchers.config import ClientSettings
from watchers.heartbeat import US_PER_S, Event, merge, s_to_us
from watchers.process import Stopper
from watchers.queue import HeartbeatQueue

T0 = 1_700_000_000 * US_PER_S
AFK = {"status": "afk"}
ACTIVE = {"status": "not-afk"}


def at(seconds: float) -> int:
    return T0 + s_to_us(seconds)


def test_settings_validation_and_pulsetime() -> None:
    assert AfkSettings().pulsetime == 185
    assert AfkSettings(20, 1).pulsetime == 21
    with pytest.raises(ValueError, match="timeout"):
        AfkSettings(timeout=1, poll_time=5)
    with pytest.raises(ValueError, match="poll_time"):
        AfkSettings(timeout=1, poll_time=0)


def test_active_heartbeats_are_stamped_at_last_input() -> None:
    machine = AfkStateMachine(AfkSettings(10, 1))
    assert machine.step(at(100), 0.25) == [Event(at(99.75), 0, ACTIVE)]


def test_becoming_afk_is_recorded_at_the_last_input() -> None:
    machine = AfkStateMachine(AfkSettings(10, 1))
    machine.step(at(100), 0.0)  # input at 100
    assert machine.step(at(109), 9.0) == [Event(at(100), 0, ACTIVE)]
    out = machine.step(at(110), 10.0)
    assert out == [Event(at(100), 0, ACTIVE), Event(at(100) + 1000, s_to_us(10), AFK)]
    assert machine.afk
    # While AFK each poll extends the AFK event to now.
    assert machine.step(at(111), 11.0) == [Event(at(100) + 1000, s_to_us(11), AFK)]


def test_returning_is_recorded_at_the_new_input() -> None:
    machine = AfkStateMachine(AfkSettings(10, 1))
    machine.step(at(100), 0.0)
    machine.step(at(110), 10.0)
    out = machine.step(at(131), 0.5)  # input at 130.5
    assert out == [Event(at(130.5), 0, AFK), Event(at(130.5) + 1000, 0, ACTIVE)]
    assert not machine.afk


def test_no_new_input_after_returning_extends_the_same_active_event() -> None:
    """Idle sources that report the same last input on the next polls (one key press,
    then nothing) must not start a second not-afk event before the first one."""
    machine = AfkStateMachine(AfkSettings(10, 1))
    machine.step(at(100), 0.0)
    machine.step(at(110), 10.0)
    returned = machine.step(at(131), 0.5)[1]  # input at 130.5
    (again,) = machine.step(at(132), 1.5)  # still that same input
    assert merge(returned, again, s_to_us(11)) == Event(returned.timestamp, 0, ACTIVE)


def test_idle_at_start_is_afk_from_the_last_input() -> None:
    machine = AfkStateMachine(AfkSettings(10, 1))
    out = machine.step(at(1000), 600.0)
    assert out[1] == Event(at(400) + 1000, s_to_us(600), AFK)


def test_last_input_never_steps_back_on_jitter() -> None:
    machine = AfkStateMachine(AfkSettings(10, 1))
    first = machine.step(at(100), 5.000)[0]
    second = machine.step(at(101), 6.003)[0]  # counter read 3 ms "late"
    assert second.timestamp == first.timestamp


def test_wall_clock_jumping_back_is_not_clamped() -> None:
    machine = AfkStateMachine(AfkSettings(10, 1))
    machine.step(at(100), 0.0)
    (event,) = machine.step(at(50), 1.0)
    assert event.timestamp == at(49)


def timeline(events: list[Event], pulsetime: float) -> list[Event]:
    """Apply heartbeats the way the server does, to see the resulting events."""
    out: list[Event] = []
    for event in events:
        merged = merge(out[-1], event, s_to_us(pulsetime)) if out else None
        if merged is None:
            out.append(event)
        else:
            out[-1] = merged
    return out


def test_a_session_becomes_three_seamless_events() -> None:
    """Active 0–30 s (input every second), away until 100 s, back at 100 s."""
    settings = AfkSettings(20, 1)
    machine = AfkStateMachine(settings)
    beats: list[Event] = []
    last_input = 0.0
    for second in range(0, 121):
        if second <= 30 or second >= 100:
            last_input = float(second)
        beats += machine.step(at(second), second - last_input)
    events = timeline(beats, settings.pulsetime)
    assert [e.data for e in events] == [ACTIVE, AFK, ACTIVE]
    assert (events[0].timestamp, events[0].end) == (at(0), at(30))
    assert (events[1].timestamp, events[1].end) == (at(30) + 1000, at(100))
    assert (events[2].timestamp, events[2].end) == (at(100) + 1000, at(120))


class ScriptedIdle:
    """An idle source that reports a scripted idle time and stops the loop at the end."""

    name = "scripted"

    def __init__(self, idles: list[float], stopper: Stopper) -> None:
        self.idles = idles
        self.stopper = stopper

    def seconds_since_input(self) -> float:
        value = self.idles.pop(0)
        if not self.idles:
            self.stopper.stop("script done")
        return value

    def close(self) -> None:
        pass


class SteppingClock:
    """Advances one second per `now_us` call (one per poll)."""

    def __init__(self) -> None:
        self.t = 0.0

    def now_us(self) -> int:
        self.t += 1.0
        return at(self.t)

    def monotonic(self) -> float:
        return self.t  # polls happen exactly on schedule: no real waiting


def test_watcher_loop_sends_through_the_real_client(tmp_path: Path,
                                                    fake_server: FakeServer) -> None:
    stopper = Stopper()
    client = Client("aw-watcher-afk", ClientSettings("127.0.0.1", fake_server.port, 5.0, None,
                                                     True),
                    HeartbeatQueue(tmp_path / "q.sqlite"), hostname="h")
    idles = [0.0] * 5 + [float(i) for i in range(1, 30)] + [0.0] * 5
    watcher = AfkWatcher(AfkSettings(20, 1), ScriptedIdle(idles, stopper), client,
                         stopper=stopper, clock=SteppingClock())
    watcher.run()
    assert client.close() == 0
    events = sorted(fake_server.events("aw-watcher-afk_h"), key=lambda e: e["timestamp"])
    assert [e["data"]["status"] for e in events] == ["not-afk", "afk", "not-afk"]
    assert fake_server.state.buckets["aw-watcher-afk_h"]["type"] == "afkstatus"
