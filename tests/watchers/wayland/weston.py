"""A headless weston for tests: a real Wayland compositor that offers neither a way to
list windows nor an idle protocol, so a watcher must refuse it with one clear message.

weston runs as the desktop user (like any compositor here) on its headless backend,
with a socket name of our choosing in the user's private runtime dir.
"""

from __future__ import annotations

import shutil

from tests.watchers.wayland.harness import UserSession, poll

SOCKET = "wayland-weston"


class WestonSession:
    def __init__(self, user: UserSession) -> None:
        self.user = user

    def start(self) -> WestonSession:
        if shutil.which("weston") is None:
            raise RuntimeError("weston is missing (scripts/test installs it: apt-get install "
                               "weston)")
        proc = self.user.spawn(["weston", "--backend=headless-backend.so", f"--socket={SOCKET}",
                                "--idle-time=0"], "weston.log")

        def listening() -> bool:
            if proc.poll() is not None:
                log = (self.user.logdir / "weston.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"weston exited with {proc.returncode}: {log}")
            return (self.user.runtime_dir / SOCKET).exists()

        poll(listening, "weston's Wayland socket")
        return self

    def env(self, **extra: str) -> dict[str, str]:
        """A Wayland session of a desktop we know nothing about."""
        return self.user.env(XDG_SESSION_TYPE="wayland", WAYLAND_DISPLAY=SOCKET, **extra)
