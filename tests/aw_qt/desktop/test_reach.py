"""How a user reaches aw-qt, without a screen: icon or window (`TrayPresence`), a second
launch reaching the first over its socket, and the welcome's once-only marker."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from aw_qt.desktop.presence import Face, TrayPresence
from aw_qt.desktop.summon import MAX_PATH_BYTES, SummonListener, socket_path, summon
from aw_qt.first_run import FirstRun, welcome_text
from tests.aw_qt.helpers import wait_for


def test_without_a_tray_the_window_comes_after_the_wait_and_a_tray_always_wins() -> None:
    presence = TrayPresence(wait_s=0.5)
    assert presence.observe(False, 100.0) is Face.WAITING  # a panel may be starting too
    assert presence.observe(False, 100.4) is Face.WAITING
    assert presence.observe(False, 100.5) is Face.WINDOW
    assert presence.observe(True, 101.0) is Face.ICON
    assert presence.observe(False, 200.0) is Face.WAITING  # the panel went away
    assert presence.observe(False, 200.6) is Face.WINDOW


def test_a_window_sent_to_the_background_comes_back_when_summoned_or_on_a_new_loss() -> None:
    presence = TrayPresence(wait_s=0.5)
    presence.observe(False, 0.0)
    assert presence.observe(False, 1.0) is Face.WINDOW
    presence.dismiss()  # closed, "keep tracking in the background"
    assert presence.observe(False, 2.0) is Face.HIDDEN
    assert presence.observe(False, 500.0) is Face.HIDDEN  # stays hidden
    presence.summon()  # a second launch
    assert presence.observe(False, 501.0) is Face.WINDOW
    presence.dismiss()
    assert presence.observe(True, 502.0) is Face.ICON  # a tray came ...
    assert presence.observe(False, 503.0) is Face.WAITING  # ... and went
    assert presence.observe(False, 503.5) is Face.WINDOW


def test_a_second_launch_during_the_wait_gets_the_window_at_once() -> None:
    presence = TrayPresence(wait_s=10.0)
    assert presence.observe(False, 0.0) is Face.WAITING
    presence.summon()
    assert presence.observe(False, 0.1) is Face.WINDOW


def ask(path: Path, listener: SummonListener) -> str | None:
    """A second launch asks while the first serves its socket, as its loop would."""
    answers: list[str | None] = []
    thread = threading.Thread(target=lambda: answers.append(summon(path, timeout=10)))
    thread.start()
    wait_for(lambda: answers, step=listener.handle_pending, timeout=15)
    thread.join(10)
    return answers[0]


def test_a_second_launch_asks_the_first_and_gets_its_answer(tmp_path: Path) -> None:
    path = socket_path(tmp_path / "aw-qt.lock")
    assert path == tmp_path / "aw-qt.sock"
    assert summon(path, timeout=2) is None  # nobody listens yet
    listener = SummonListener.open(path)
    assert listener is not None
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # this user only
        assert ask(path, listener) == "headless"  # what --no-gui answers
        listener.answer = lambda: "window"
        assert ask(path, listener) == "window"
    finally:
        listener.close()
    assert not path.exists()
    assert summon(path, timeout=2) is None


def test_a_socket_left_by_a_dead_instance_is_replaced(tmp_path: Path) -> None:
    path = socket_path(tmp_path / "aw-qt.lock")
    dead = SummonListener.open(path)
    assert dead is not None
    dead._sock.close()  # killed: the file stays behind
    assert path.exists()
    listener = SummonListener.open(path)
    assert listener is not None
    try:
        listener.answer = lambda: "tray"
        assert ask(path, listener) == "tray"
    finally:
        listener.close()


def test_a_long_data_path_puts_the_socket_in_the_runtime_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    deep = tmp_path / ("a-very-long-folder-name-" * 6) / "aw-qt.lock"
    path = socket_path(deep)
    assert path.parent == tmp_path and len(os.fsencode(path)) <= MAX_PATH_BYTES
    assert socket_path(deep) == path != socket_path(deep.with_name("aw-qt-testing.lock"))
    listener = SummonListener.open(path)
    assert listener is not None
    try:
        assert ask(path, listener) == "headless"
    finally:
        listener.close()


def test_the_welcome_is_due_once(tmp_path: Path) -> None:
    marker = tmp_path / "data" / "aw-qt.welcomed"
    first = FirstRun(marker)
    assert first.due()
    first.done()
    assert not first.due() and not FirstRun(marker).due()  # nor after a restart


def test_the_welcome_says_where_the_data_is_and_how_to_pause() -> None:
    tray = welcome_text("/home/ann/.local/share/activitywatch/aw-server/aw-server.sqlite",
                        tray=True)
    assert "now tracking" in tray and "aw-server.sqlite" in tray
    assert "Pause tracking" in tray and "icon in the system tray" in tray
    window = welcome_text("/data.sqlite", tray=False)
    assert "Menu button of the ActivityWatch window" in window
