"""aw-qt itself on a headless GNOME 43 Wayland session, as the desktop user.

Stock GNOME has no tray (no StatusNotifierItem host without the AppIndicator
extension), so aw-qt must show its no-tray window; and window tracking needs our
extension, so aw-qt must offer to install it when the window watcher stops for want of
it. Both are checked through the shell's own view (window list, our extension) and
through what aw-qt's embedded server records.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aw_qt.desktop.gnome_extension import OFFER_TITLE, RESULT_TITLE
from tests.watchers.helpers import wait_until
from tests.watchers.servers import free_port
from tests.watchers.wayland.gnome import GnomeShell, missing_tools
from tests.watchers.wayland.harness import UserSession, spawn_aw_qt
from watchers.window.backends.gnome import EXTENSION, EXTENSION_UUID

NO_TRAY_TITLE = "ActivityWatch"  # aw_qt/qt/no_tray_window.py's NoTrayWindow
BUCKET = f"aw-watcher-window_{socket.gethostname()}"


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[GnomeShell]:
    missing = missing_tools()
    if missing:
        pytest.fail(f"missing for the GNOME tests: {', '.join(missing)} (scripts/test installs "
                    f"them)")
    session = UserSession(tmp_path / "logs")
    gnome = GnomeShell(session)
    try:
        gnome.install_helper()
        gnome.start(x11=False)
        yield gnome
    finally:
        gnome.close()
        session.stop()


def start_aw_qt(shell: GnomeShell, port: int, log: str) -> subprocess.Popen[bytes]:
    return spawn_aw_qt(shell.session, shell, port, log=log)


def stop_aw_qt(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def titles(shell: GnomeShell) -> list[str]:
    return [w["title"] for w in shell.windows()]


def press_default_button(shell: GnomeShell, dialog: str) -> None:
    """Return on the dialog, as a user would, until it has closed.

    A key pressed right after the focus moved can reach the dialog before its default
    button took the keyboard focus; it is then lost, so the key is pressed again.
    """

    def pressed() -> bool:
        if dialog not in titles(shell):
            return True
        shell.activate(dialog)
        shell.press_return()
        return False

    wait_until(pressed, f"{dialog!r} to close", interval=0.5)


def test_offer_installs_the_extension_and_after_login_the_no_tray_window_is_tracked(
        shell: GnomeShell) -> None:
    port = free_port()
    aw_qt = start_aw_qt(shell, port, "aw-qt-1.log")
    # The window watcher exits 3 without the extension; aw-qt asks instead of restarting.
    wait_until(lambda: OFFER_TITLE in titles(shell), "the install offer", timeout=60)
    # No tray host on stock GNOME: after its wait, aw-qt shows its window.
    wait_until(lambda: NO_TRAY_TITLE in titles(shell), "the no-tray window", timeout=60)
    press_default_button(shell, OFFER_TITLE)  # Install
    installed = shell.session.home / ".local/share/gnome-shell/extensions" / EXTENSION_UUID
    wait_until(lambda: RESULT_TITLE in titles(shell), "the install's result", timeout=60)
    assert (installed / "extension.js").exists()
    enabled = wait_until(lambda: EXTENSION_UUID in shell.session.run(
        ["gsettings", "get", "org.gnome.shell", "enabled-extensions"], shell.env()).stdout,
        "the extension enabled in the user's settings")
    assert enabled
    stop_aw_qt(aw_qt)

    shell.restart()  # log out and in: GNOME 43 loads the extension now
    aw_qt = start_aw_qt(shell, port, "aw-qt-2.log")
    try:
        wait_until(lambda: NO_TRAY_TITLE in titles(shell), "the no-tray window", timeout=60)
        assert OFFER_TITLE not in titles(shell)
        # Listed is not yet mapped: Mutter maps a new window at its next repaint, and
        # activating it before then fails; wait_for_window repaints and focuses it.
        shell.wait_for_window(NO_TRAY_TITLE)
        assert shell.driver is not None
        focused = shell.driver.call((EXTENSION.bus_name, EXTENSION.path, EXTENSION.interface),
                                    "Get")[0]
        assert focused["title"] == NO_TRAY_TITLE and focused["client"] == "wayland"

        def recorded() -> bool:
            response = requests.get(f"http://127.0.0.1:{port}/api/0/buckets/{BUCKET}/events",
                                    timeout=5)
            return response.ok and any(e["data"] == {"app": focused["wm_class"],
                                                     "title": NO_TRAY_TITLE}
                                       for e in response.json())

        wait_until(recorded, "aw-qt's window watcher to record its own window", timeout=60)
    finally:
        stop_aw_qt(aw_qt)
