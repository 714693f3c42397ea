"""The on-disk queue, on real SQLite files, including a real `kill -9` of its writer."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from watchers.heartbeat import US_PER_S, Event, PremergeStep
from watchers.queue import HeartbeatQueue, QueueLockedError

T0 = 1_700_000_000 * US_PER_S


def ev(i: int, duration: int = 0) -> Event:
    return Event(T0 + i * US_PER_S, duration, {"n": i})


def test_fifo_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with HeartbeatQueue(path) as queue:
        for i in range(5):
            queue.push("b", 2.0, ev(i))
        first = queue.peek()
        assert first is not None
        queue.ack(first.id)
    with HeartbeatQueue(path) as queue:
        assert [item.event for item in queue.items()] == [ev(i) for i in range(1, 5)]
        assert len(queue) == 4


def test_pending_is_kept_on_disk_and_queued_at_next_open(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    queue = HeartbeatQueue(path)
    queue.push("b", 2.0, ev(0))
    queue.apply("b", 2.0, PremergeStep(send=None, pending=ev(1, 3 * US_PER_S)))
    assert queue.pending("b") == ev(1, 3 * US_PER_S)
    queue.close()  # no flush: what a crash leaves behind
    with HeartbeatQueue(path) as reopened:
        assert [i.event for i in reopened.items()] == [ev(0), ev(1, 3 * US_PER_S)]
        assert reopened.pending("b") is None


def test_dead_letter_keeps_item_and_body(tmp_path: Path) -> None:
    with HeartbeatQueue(tmp_path / "q.sqlite") as queue:
        queue.push("b", 2.0, ev(0))
        queue.push("b", 2.0, ev(1))
        item = queue.peek()
        assert item is not None
        queue.dead_letter(item, 400, '{"message": "bad"}')
        assert [i.event for i in queue.items()] == [ev(1)]
        (dead,) = queue.dead_letters()
        assert (dead.event, dead.status, dead.body) == (ev(0), 400, '{"message": "bad"}')


def test_second_instance_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with HeartbeatQueue(path):
        code = textwrap.dedent(f"""
            from pathlib import Path
            from watchers.queue import HeartbeatQueue, QueueLockedError
            try:
                HeartbeatQueue(Path({str(path)!r}))
            except QueueLockedError:
                raise SystemExit(3)
        """)
        assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 3
    HeartbeatQueue(path).close()  # free again once the first closed


def test_same_process_second_open_is_refused(tmp_path: Path) -> None:
    with HeartbeatQueue(tmp_path / "q.sqlite"), pytest.raises(QueueLockedError):
        HeartbeatQueue(tmp_path / "q.sqlite")


def test_kill_9_while_writing_loses_nothing_committed(tmp_path: Path) -> None:
    """A writer killed mid-stream: every heartbeat it reported as written is on disk."""
    path = tmp_path / "q.sqlite"
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from watchers.heartbeat import Event, PremergeStep, premerge
        from watchers.queue import HeartbeatQueue
        q = HeartbeatQueue(Path({str(path)!r}))
        i = 0
        while True:
            step = premerge(q.pending("b"), Event(i * 1_000_000, 0, {{"n": i // 3}}),
                            2_000_000, 10_000_000)
            q.apply("b", 2.0, step)
            print(i, flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    last = -1
    for line in proc.stdout:
        last = int(line)
        if last >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with HeartbeatQueue(path) as queue:
        events = [item.event for item in queue.items()]
    # Groups of three equal heartbeats merge into one event each; all written groups exist.
    groups = [e.data["n"] for e in events]
    assert groups == list(range(len(groups)))
    assert groups[-1] >= last // 3
    for event in events[:-1]:
        assert event.duration == 2 * US_PER_S
