"""The Supervisor with real subprocesses: start, crash, restart budget, pause, shutdown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aw_qt.modules.finder import ModuleSpec
from aw_qt.modules.process import describe_exit
from aw_qt.modules.supervisor import RESTART_LIMIT, RESTART_WINDOW_S, ModuleState, Supervisor
from aw_qt.pause import PauseStore
from tests.aw_qt.helpers import (
    FakeClock,
    alive,
    make_spec,
    terms,
    unsupported_watcher_spec,
    wait_for,
    wait_ready,
)


def make_supervisor(tmp_path: Path, *specs: ModuleSpec, clock: FakeClock | None = None,
                    stop_timeout: float = 5.0) -> Supervisor:
    return Supervisor({s.name: s for s in specs}, log_dir=tmp_path / "logs",
                      pause_store=PauseStore(tmp_path / "pause.json"),
                      clock=clock or FakeClock(), stop_timeout=stop_timeout)


def test_start_and_clean_shutdown_sends_sigterm(tmp_path: Path) -> None:
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "well", "aw-watcher-a"),
                          make_spec(tmp_path, "well", "aw-watcher-b"))
    sup.start(["aw-watcher-a", "aw-watcher-b", "aw-watcher-missing"])
    pids = [sup.status(n).pid for n in ("aw-watcher-a", "aw-watcher-b")]
    assert all(alive(p) for p in pids)
    assert {s.state for s in sup.statuses()} == {ModuleState.RUNNING}
    wait_ready(tmp_path, "aw-watcher-a")
    wait_ready(tmp_path, "aw-watcher-b")
    sup.shutdown()
    assert not any(alive(p) for p in pids)
    assert terms(tmp_path, "aw-watcher-a") == 1 and terms(tmp_path, "aw-watcher-b") == 1
    assert {s.state for s in sup.statuses()} == {ModuleState.STOPPED}


def test_module_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "hang"),
                          make_spec(tmp_path, "well"), stop_timeout=1.0)
    sup.start(["aw-watcher-hang", "aw-watcher-well"])
    hang_pid = sup.status("aw-watcher-hang").pid
    wait_ready(tmp_path, "aw-watcher-hang")
    wait_ready(tmp_path, "aw-watcher-well")
    sup.shutdown()
    assert not alive(hang_pid)
    assert terms(tmp_path, "aw-watcher-well") == 1


def test_crashes_restart_three_times_then_give_up_with_the_log(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "crash"), clock=clock)
    restarts: list[int] = []
    gave_up: list[tuple[str, str]] = []
    sup.on_restarted = lambda name, attempt: restarts.append(attempt)
    sup.on_gave_up = lambda name, tail: gave_up.append((name, tail))
    sup.start(["aw-watcher-crash"])

    def step() -> None:
        clock.advance(10)
        sup.tick()

    wait_for(lambda: gave_up, step=step)
    assert restarts == [1, 2, 3]
    name, tail = gave_up[0]
    assert name == "aw-watcher-crash"
    assert "boom: something went wrong" in tail
    assert sup.status(name).state is ModuleState.FAILED
    for _ in range(3):  # no more restarts once given up
        step()
    assert restarts == [1, 2, 3]

    # The dialog's Restart button: a fresh budget and a new process.
    sup.restart(name)
    assert sup.status(name).restarts == 0
    wait_for(lambda: len(restarts) == 4, step=step)
    assert restarts[-1] == 1
    sup.shutdown()


def test_watcher_that_cannot_track_the_session_is_not_restarted_and_says_why_once(
        tmp_path: Path) -> None:
    spec, env = unsupported_watcher_spec(tmp_path)
    sup = Supervisor({spec.name: spec}, log_dir=tmp_path / "logs",
                     pause_store=PauseStore(tmp_path / "pause.json"), clock=FakeClock(),
                     env=env)
    reasons: list[tuple[str, str]] = []
    restarts: list[int] = []
    gave_up: list[str] = []
    sup.on_unsupported = lambda name, reason: reasons.append((name, reason))
    sup.on_restarted = lambda name, attempt: restarts.append(attempt)
    sup.on_gave_up = lambda name, tail: gave_up.append(name)
    sup.start([spec.name])
    wait_for(lambda: reasons, step=sup.tick)
    for _ in range(5):
        sup.tick()
    assert len(reasons) == 1 and restarts == [] and gave_up == []
    name, reason = reasons[0]
    assert name == "aw-watcher-window"
    assert "XDG_RUNTIME_DIR" not in reason  # it is set: the display itself is missing
    assert reason.startswith("wlroots (forced with --backend)")
    assert "cannot connect to the Wayland display" in reason
    assert "(watchers." not in reason  # the log line's logger name is not part of it
    assert sup.status(name).state is ModuleState.UNSUPPORTED
    sup.start_module(name)  # the user tries again: it says so again
    wait_for(lambda: len(reasons) == 2, step=sup.tick)
    sup.shutdown()


def test_restart_budget_is_a_sliding_window(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "crash"), clock=clock)
    restarts: list[int] = []
    gave_up: list[str] = []
    sup.on_restarted = lambda name, attempt: restarts.append(attempt)
    sup.on_gave_up = lambda name, tail: gave_up.append(name)
    sup.start(["aw-watcher-crash"])
    wait_for(lambda: len(restarts) == RESTART_LIMIT, step=sup.tick)
    clock.advance(RESTART_WINDOW_S + 1)  # the old restarts leave the window
    wait_for(lambda: len(restarts) == RESTART_LIMIT + 1, step=sup.tick)
    assert restarts == [1, 2, 3, 1]
    assert gave_up == []
    sup.shutdown()


def test_unstartable_module_fails_at_once(tmp_path: Path) -> None:
    spec = ModuleSpec("aw-watcher-gone", (str(tmp_path / "does-not-exist"),), "system")
    sup = make_supervisor(tmp_path, spec)
    gave_up: list[str] = []
    sup.on_gave_up = lambda name, tail: gave_up.append(tail)
    sup.start(["aw-watcher-gone"])
    assert sup.status("aw-watcher-gone").state is ModuleState.FAILED
    assert "Could not start" in gave_up[0]


def test_toggle_stops_and_starts(tmp_path: Path) -> None:
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "well"))
    sup.start([])
    assert sup.status("aw-watcher-well").state is ModuleState.STOPPED
    sup.toggle("aw-watcher-well")
    pid = sup.status("aw-watcher-well").pid
    assert alive(pid)
    sup.toggle("aw-watcher-well")
    assert not alive(pid)
    assert sup.status("aw-watcher-well").state is ModuleState.STOPPED
    sup.tick()  # a module we stopped is not a crash
    assert sup.status("aw-watcher-well").state is ModuleState.STOPPED
    sup.shutdown()


def test_timed_pause_stops_modules_and_resumes_by_itself(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "well", "aw-watcher-a"),
                          make_spec(tmp_path, "well", "aw-watcher-b"), clock=clock)
    sup.start(["aw-watcher-a"])
    pid = sup.status("aw-watcher-a").pid
    wait_ready(tmp_path, "aw-watcher-a")  # its SIGTERM handler is installed
    sup.pause(clock.now() + timedelta(minutes=15))
    assert not alive(pid)
    assert terms(tmp_path, "aw-watcher-a") == 1  # SIGTERM: the watcher flushed its queue
    assert sup.status("aw-watcher-a").state is ModuleState.PAUSED
    assert sup.status("aw-watcher-b").state is ModuleState.STOPPED  # was not running
    assert (tmp_path / "pause.json").exists()
    clock.advance(14 * 60)
    sup.tick()
    assert sup.status("aw-watcher-a").state is ModuleState.PAUSED
    clock.advance(61)
    sup.tick()
    assert sup.status("aw-watcher-a").state is ModuleState.RUNNING
    assert sup.status("aw-watcher-b").state is ModuleState.STOPPED
    assert sup.pause_state is None and not (tmp_path / "pause.json").exists()
    sup.shutdown()


def test_open_ended_pause_and_manual_resume(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "well"), clock=clock)
    sup.start(["aw-watcher-well"])
    sup.pause(None)
    clock.advance(10 * 24 * 3600)
    sup.tick()
    assert sup.status("aw-watcher-well").state is ModuleState.PAUSED
    sup.resume()
    assert sup.status("aw-watcher-well").state is ModuleState.RUNNING
    sup.shutdown()


def test_toggling_while_paused_changes_what_resumes(tmp_path: Path) -> None:
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "well", "aw-watcher-a"),
                          make_spec(tmp_path, "well", "aw-watcher-b"))
    sup.start(["aw-watcher-a"])
    sup.pause(None)
    sup.toggle("aw-watcher-a")  # now off
    sup.toggle("aw-watcher-b")  # now on, after the pause
    assert sup.status("aw-watcher-a").state is ModuleState.STOPPED
    assert sup.status("aw-watcher-b").state is ModuleState.PAUSED
    assert sup.status("aw-watcher-b").pid is None
    sup.resume()
    assert sup.status("aw-watcher-a").state is ModuleState.STOPPED
    assert sup.status("aw-watcher-b").state is ModuleState.RUNNING
    sup.shutdown()


def test_pause_survives_a_restart_and_still_ends_on_time(tmp_path: Path) -> None:
    clock = FakeClock()
    first = make_supervisor(tmp_path, make_spec(tmp_path, "well"), clock=clock)
    first.start(["aw-watcher-well"])
    first.pause(clock.now() + timedelta(hours=1))
    first.shutdown()

    clock.advance(30 * 60)
    second = make_supervisor(tmp_path, make_spec(tmp_path, "well"), clock=clock)
    second.start(["aw-watcher-well"])
    assert second.status("aw-watcher-well").state is ModuleState.PAUSED
    assert second.status("aw-watcher-well").pid is None
    clock.advance(31 * 60)
    second.tick()
    assert second.status("aw-watcher-well").state is ModuleState.RUNNING
    second.shutdown()


def test_pause_that_ended_while_not_running_is_dropped(tmp_path: Path) -> None:
    clock = FakeClock()
    first = make_supervisor(tmp_path, make_spec(tmp_path, "well"), clock=clock)
    first.start(["aw-watcher-well"])
    first.pause(clock.now() + timedelta(minutes=15))
    first.shutdown()
    clock.advance(3600)
    second = make_supervisor(tmp_path, make_spec(tmp_path, "well"), clock=clock)
    second.start(["aw-watcher-well"])
    assert second.status("aw-watcher-well").state is ModuleState.RUNNING
    assert not (tmp_path / "pause.json").exists()
    second.shutdown()


def test_how_each_run_ended_is_in_the_status_and_ends_its_output(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = make_supervisor(tmp_path, make_spec(tmp_path, "segv"), clock=clock)
    gave_up: list[str] = []
    sup.on_gave_up = lambda name, tail: gave_up.append(tail)
    sup.start(["aw-watcher-segv"])

    def step() -> None:
        clock.advance(10)
        sup.tick()

    wait_for(lambda: gave_up, step=step)
    status = sup.status("aw-watcher-segv")
    assert status.state is ModuleState.FAILED
    assert status.exit_reason == "was killed by signal SIGSEGV (11)"
    newest = gave_up[0].splitlines()  # the crash dialog's text: the newest output last
    assert newest[-2:] == ["newest: about to crash",
                           "--- aw-qt: aw-watcher-segv was killed by signal SIGSEGV (11)"]
    log = (tmp_path / "logs" / "aw-watcher-segv.log").read_text()
    assert log.count("was killed by signal SIGSEGV (11)") == RESTART_LIMIT + 1
    sup.stop_module("aw-watcher-segv")  # the user takes it in hand: the reason is old news
    assert sup.status("aw-watcher-segv").exit_reason == ""


def test_exit_reasons_read_as_words() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(-9) == "was killed by signal SIGKILL (9)"
    assert describe_exit(-99) == "was killed by signal 99"
