"""Plays the user in a test KWin session; runs as the desktop user (D-Bus admits no other).

Started by `tests/watchers/wayland/kwin.py` with one JSON command per stdin line and
one JSON answer per stdout line:
- `{"do": "activate", "caption": C}` focuses the window titled C with KWin's own means,
  a test-side KWin script that sets the active window; the answer comes once KWin has
  announced the activation, with the wall-clock time it did (`at`, seconds), so tests
  compare the watcher's record with the moment the switch really happened.
- `{"do": "windows"}` lists KWin's windows (caption, resource class and name).
- `{"do": "input"}` moves the pointer through `org_kde_kwin_fake_input`, the protocol
  KWin grants only to programs whose .desktop file lists it (the launcher writes one
  for this interpreter), exactly as KDE Connect gets it on a real desktop.
- `{"do": "loaded", "name": N}` asks KWin whether a script named N is loaded.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from watchers.dbus import DBusService, Endpoint, SessionBus

SERVICE = "org.activitywatch.TestDriver"
SCRIPTING = Endpoint("org.kde.KWin", "/Scripting", "org.kde.kwin.Scripting")
FAKE_INPUT_XML = "/usr/share/plasma-wayland-protocols/fake-input.xml"
ANSWER_TIMEOUT = 10.0

# Both KWin 5 (clientActivated/activeClient/clientList) and 6 (window*) names.
PRELUDE = """
var KWIN6 = workspace.windowActivated !== undefined;
function windows() { return KWIN6 ? workspace.windowList() : workspace.clientList(); }
function active() { return KWIN6 ? workspace.activeWindow : workspace.activeClient; }
function answer(kind, value) {
    callDBus("@SERVICE@", "/", "@SERVICE@", "Answer", kind, JSON.stringify(value));
}
""".replace("@SERVICE@", SERVICE)
ACTIVATE = """
var wanted = @WANTED@;
var target = null;
windows().forEach(function (w) { if (String(w.caption) === wanted) { target = w; } });
function isTarget(w) { return w && String(w.internalId) === String(target.internalId); }
if (target === null) {
    answer("missing", wanted);
} else if (isTarget(active())) {
    answer("active", wanted);
} else {
    (KWIN6 ? workspace.windowActivated : workspace.clientActivated).connect(function (w) {
        if (isTarget(w)) { answer("active", wanted); }
    });
    if (KWIN6) { workspace.activeWindow = target; } else { workspace.activeClient = target; }
}
"""
LIST = """
answer("windows", windows().map(function (w) {
    return {caption: String(w.caption), resourceClass: String(w.resourceClass),
            resourceName: String(w.resourceName)};
}));
"""


class Driver:
    def __init__(self) -> None:
        self.bus = SessionBus.open()
        self.answers: list[tuple[float, str, Any]] = []
        self.arrived = threading.Condition()
        self.service = DBusService(SERVICE, self._on_answer)
        self.folder = Path(tempfile.mkdtemp(prefix="kwin-driver-",
                                            dir=os.environ["XDG_RUNTIME_DIR"]))
        self.numbers = itertools.count()
        self.fake_input: Any = None

    def _on_answer(self, _path: str, _interface: str, _member: str,
                   args: tuple[Any, ...]) -> None:
        with self.arrived:
            self.answers.append((time.time(), str(args[0]), json.loads(str(args[1]))))
            self.arrived.notify_all()

    def run_script(self, body: str) -> tuple[float, str, Any]:
        """Load, run and unload a one-off KWin script; return its answer."""
        name = f"aw-test-driver-{next(self.numbers)}"
        path = self.folder / f"{name}.js"
        path.write_text(PRELUDE + body, encoding="utf-8")
        with self.arrived:
            self.answers.clear()
        script_id = int(self.bus.call(SCRIPTING, "loadScript", "ss", (str(path), name))[0])
        for object_path in (f"/Scripting/Script{script_id}", f"/{script_id}"):
            with contextlib.suppress(Exception):
                self.bus.call(Endpoint("org.kde.KWin", object_path, "org.kde.kwin.Script"), "run")
                break
        try:
            with self.arrived:
                if not self.arrived.wait_for(lambda: self.answers, ANSWER_TIMEOUT):
                    raise TimeoutError(f"KWin script {name} did not answer")
                return self.answers[0]
        finally:
            self.bus.call(SCRIPTING, "unloadScript", "s", (name,))

    def close(self) -> None:
        if self.fake_input is not None:
            self.fake_input.display.disconnect()
        self.service.close()
        self.bus.close()

    def activate(self, caption: str) -> dict[str, Any]:
        at, kind, _value = self.run_script(ACTIVATE.replace("@WANTED@", json.dumps(caption)))
        return {"ok": kind == "active", "at": at, "kind": kind}

    def windows(self) -> dict[str, Any]:
        return {"ok": True, "windows": self.run_script(LIST)[2]}

    def loaded(self, name: str) -> dict[str, Any]:
        return {"ok": True, "loaded": bool(self.bus.call(SCRIPTING, "isScriptLoaded", "s",
                                                         (name,))[0])}

    def input(self) -> dict[str, Any]:
        if self.fake_input is None:
            self.fake_input = FakeInput()
        self.fake_input.nudge()
        return {"ok": True, "at": time.time()}


class FakeInput:
    """A pointer that moves through KWin's privileged fake-input protocol."""

    def __init__(self) -> None:
        from pywayland.client import Display

        protocol = _fake_input_module()
        self.display = Display()
        self.display.connect()
        offered: dict[str, Any] = {}
        registry = self.display.get_registry()
        registry.dispatcher["global"] = lambda reg, name, interface, version: (
            offered.setdefault(interface, (reg, name, version)))
        self.display.roundtrip()
        cls = protocol.OrgKdeKwinFakeInput
        if cls.name not in offered:
            raise RuntimeError("KWin did not offer org_kde_kwin_fake_input to this program "
                               "(no .desktop file authorising it)")
        reg, name, version = offered[cls.name]
        self.device = reg.bind(name, cls, min(version, 4))
        self.device.authenticate("aw-reimpl tests", "simulated user input for tests")
        self.sign = 1.0

    def nudge(self) -> None:
        self.sign = -self.sign
        self.device.pointer_motion(3.0 * self.sign, 3.0 * self.sign)
        self.display.roundtrip()


def _fake_input_module() -> Any:
    """Bindings generated from the system's plasma-wayland-protocols XML."""
    from pywayland.scanner.protocol import Protocol

    build = Path(tempfile.mkdtemp(prefix="fake-input-bindings-",
                                  dir=os.environ["XDG_RUNTIME_DIR"]))
    package = build / "aw_test_fake_input"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    protocol = Protocol.parse_file(FAKE_INPUT_XML)
    protocol.output(str(package), {"org_kde_kwin_fake_input": "fake_input"})
    sys.path.insert(0, str(build))
    return importlib.import_module("aw_test_fake_input.fake_input")


def main() -> None:
    driver = Driver()
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            verb = command["do"]
            if verb == "activate":
                answer = driver.activate(command["caption"])
            elif verb == "windows":
                answer = driver.windows()
            elif verb == "loaded":
                answer = driver.loaded(command["name"])
            elif verb == "input":
                answer = driver.input()
            else:
                answer = {"ok": False, "error": f"unknown command {verb!r}"}
        except Exception as exc:  # reported to the test, which fails with the reason
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    driver.close()


if __name__ == "__main__":
    main()
