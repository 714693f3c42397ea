"""The client against a real HTTP server that fails on command (tests/watchers/fakeserver)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.watchers.fakeserver import FakeServer
from tests.watchers.helpers import wait_until
from tests.watchers.servers import free_port
from watchers.client import Client, Outcome, RateLimiter, classify
from watchers.config import ClientSettings
from watchers.heartbeat import US_PER_S, Event
from watchers.queue import HeartbeatQueue

T0 = 1_700_000_000 * US_PER_S
BUCKET = "test-bucket_host"


def settings(port: int, api_key: str | None = None, commit: float = 10.0) -> ClientSettings:
    return ClientSettings("127.0.0.1", port, commit, api_key, testing=True)


def make_client(tmp_path: Path, port: int, **kw: object) -> Client:
    client = Client("test-watcher", settings(port, **kw),  # type: ignore[arg-type]
                    HeartbeatQueue(tmp_path / "q.sqlite"), hostname="host", backoff_cap=0.1)
    client.register_bucket(BUCKET, "test")
    return client


def distinct(i: int) -> Event:
    """Heartbeats that never merge with each other: each must become one event."""
    return Event(T0 + i * US_PER_S, 0, {"n": i})


def send_all(client: Client, count: int) -> None:
    for i in range(count):
        client.heartbeat(BUCKET, distinct(i), 2.0)


def delivered(server: FakeServer) -> list[int]:
    return [e["data"]["n"] for e in server.events(BUCKET)]


def test_delivers_in_order_and_creates_bucket(tmp_path: Path, fake_server: FakeServer) -> None:
    client = make_client(tmp_path, fake_server.port)
    client.start()
    send_all(client, 20)
    # 19 sent as soon as the next differs; the last stays cached until close().
    wait_until(lambda: len(delivered(fake_server)) == 19, "19 events")
    assert client.close() == 0
    assert delivered(fake_server) == list(range(20))
    assert fake_server.state.buckets[BUCKET]["type"] == "test"
    assert fake_server.state.buckets[BUCKET]["client"] == "test-watcher"


def test_500_then_200_loses_nothing(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.fail_next(7, 500)
    client = make_client(tmp_path, fake_server.port)
    client.start()
    send_all(client, 10)
    assert client.close(timeout=20) == 0
    assert delivered(fake_server) == list(range(10))
    assert len(fake_server.heartbeats(500)) == 7


def test_400_goes_to_dead_letter_and_the_rest_continues(
        tmp_path: Path, fake_server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    fake_server.refuse = lambda body: 400 if body["data"]["n"] == 3 else None
    client = make_client(tmp_path, fake_server.port)
    client.start()
    send_all(client, 6)
    with caplog.at_level(logging.ERROR):
        assert client.close(timeout=10) == 0
    assert delivered(fake_server) == [0, 1, 2, 4, 5]
    with HeartbeatQueue(tmp_path / "q.sqlite") as queue:
        (dead,) = queue.dead_letters()
    assert dead.event == distinct(3) and dead.status == 400
    assert "refused by test" in dead.body
    assert any("dead-letter" in r.message and "refused by test" in r.message
               for r in caplog.records)


def test_bucket_deleted_on_server_is_recreated(tmp_path: Path, fake_server: FakeServer) -> None:
    client = make_client(tmp_path, fake_server.port)
    client.start()
    send_all(client, 3)
    wait_until(lambda: len(delivered(fake_server)) == 2, "first events")
    with fake_server.state.lock:  # the user deleted the bucket / reset the DB
        del fake_server.state.buckets[BUCKET]
        del fake_server.state.events[BUCKET]
    for i in range(3, 6):
        client.heartbeat(BUCKET, distinct(i), 2.0)
    assert client.close(timeout=10) == 0
    assert delivered(fake_server) == [2, 3, 4, 5]  # nothing dead-lettered
    with HeartbeatQueue(tmp_path / "q.sqlite") as queue:
        assert queue.dead_letters() == []


def test_server_down_then_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    client = make_client(tmp_path, port)
    client.start()
    with caplog.at_level(logging.WARNING):
        send_all(client, 10)
        wait_until(lambda: any("server unreachable, " in r.message for r in caplog.records),
                   "unreachable warning")
    assert len(client.queue) == 9
    server = FakeServer(port).start()
    try:
        wait_until(lambda: len(delivered(server)) == 9, "queued events after the server came up")
        assert client.close() == 0
        assert delivered(server) == list(range(10))
        assert BUCKET in server.state.buckets  # created on reconnect
    finally:
        server.stop()
    unreachable = [r for r in caplog.records if "server unreachable, " in r.message]
    assert len(unreachable) == 1  # at most once a minute


def test_close_keeps_undelivered_items_for_next_run(tmp_path: Path) -> None:
    port = free_port()
    client = make_client(tmp_path, port)
    client.start()
    send_all(client, 5)
    assert client.close(timeout=0.5) == 5  # pending flushed into the queue, not lost
    server = FakeServer(port).start()
    try:
        again = make_client(tmp_path, port)
        again.start()
        assert again.close(timeout=10) == 0
        assert delivered(server) == list(range(5))
    finally:
        server.stop()


def test_api_key_is_sent_and_wrong_key_keeps_items(tmp_path: Path) -> None:
    server = FakeServer(api_key="s3cret").start()
    try:
        wrong = make_client(tmp_path, server.port, api_key="nope")
        wrong.start()
        send_all(wrong, 3)
        assert wrong.close(timeout=0.5) == 3  # 401: kept, never dead-lettered
        right = make_client(tmp_path, server.port, api_key="s3cret")
        right.start()
        assert right.close(timeout=10) == 0
        assert delivered(server) == [0, 1, 2]
        assert server.requests[-1].headers["Authorization"] == "Bearer s3cret"
    finally:
        server.stop()


def test_premerge_spares_the_server(tmp_path: Path, fake_server: FakeServer) -> None:
    client = make_client(tmp_path, fake_server.port, commit=5.0)
    client.start()
    for i in range(31):  # 30 s of 1 Hz heartbeats of one window
        client.heartbeat(BUCKET, Event(T0 + i * US_PER_S, 0, {"app": "a"}), 2.0)
    assert client.close() == 0
    assert len(fake_server.heartbeats()) == 7  # 6 commits + the flushed cache, not 31
    (event,) = fake_server.events(BUCKET)
    assert event["duration"] == 30.0


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.DONE), (201, Outcome.DONE), (304, Outcome.RETRY), (400, Outcome.DEAD),
    (401, Outcome.AUTH), (403, Outcome.AUTH), (404, Outcome.MISSING_BUCKET),
    (408, Outcome.RETRY), (413, Outcome.DEAD), (422, Outcome.DEAD), (429, Outcome.RETRY),
    (500, Outcome.RETRY), (503, Outcome.RETRY)])
def test_classify(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now_us(self) -> int:
        return int(self.t * US_PER_S)

    def monotonic(self) -> float:
        return self.t


def test_rate_limiter_once_a_minute() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock)
    ticks = []
    for second in range(0, 181):
        clock.t = second
        if limiter.ready():
            ticks.append(second)
    assert ticks == [0, 60, 120, 180]
