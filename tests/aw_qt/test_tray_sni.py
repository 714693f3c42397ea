"""aw-qt's tray icon on a Wayland desktop: a StatusNotifierItem, as Plasma shows it.

On Wayland there is no XEmbed tray; Qt's QSystemTrayIcon registers a
StatusNotifierItem (with a com.canonical.dbusmenu menu) with the session's
org.kde.StatusNotifierWatcher, and the desktop's tray host draws it. Here the desktop
is headless KWin 5.27 (tests/watchers/wayland/kwin.py), the watcher is Plasma's own:
kded5 with its statusnotifierwatcher module, loaded the way Plasma's system tray loads
it. The real aw-qt runs as the desktop user on Qt's wayland platform, and the test
reads and clicks its item over D-Bus exactly as a tray host does
(tests/aw_qt/sni_client.py). Without any watcher (GNOME without the AppIndicator
extension is such a desktop) aw-qt must show its no-tray window instead.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.watchers.servers import free_port
from tests.watchers.wayland.harness import UserSession, poll, spawn_aw_qt
from tests.watchers.wayland.kwin import KWinSession

KDED_MODULE = "statusnotifierwatcher"
QUIT = "Quit ActivityWatch"


@pytest.fixture
def kde(tmp_path: Path) -> Iterator[KWinSession]:
    user = UserSession(tmp_path / "kde")
    kwin = KWinSession(user)
    try:
        yield kwin.start()
    finally:
        kwin.stop()
        user.stop()


def start_status_notifier_watcher(kwin: KWinSession) -> None:
    """kded5, then `loadModule statusnotifierwatcher`, as Plasma's system tray does."""
    if shutil.which("kded5") is None:
        pytest.fail("kded5 is missing (scripts/test installs it: apt-get install "
                    "plasma-workspace)")
    env = kwin.env(QT_QPA_PLATFORM="offscreen", KDE_SESSION_VERSION="5")
    kwin.session.spawn(["kded5"], "kded5.log", env=env)
    poll(lambda: kwin.bus_names_include("org.kde.kded5"), "kded5 on the bus")
    done = kwin.session.run(["gdbus", "call", "--session", "--dest", "org.kde.kded5",
                             "--object-path", "/kded", "--method", "org.kde.kded5.loadModule",
                             KDED_MODULE], env=env)
    assert done.stdout.strip() == "(true,)", (
        f"kded5 did not load its {KDED_MODULE} module ({done.stderr.strip()}); it comes "
        f"with plasma-workspace")
    assert kwin.bus_names_include("org.kde.StatusNotifierWatcher")


def start_aw_qt(kwin: KWinSession, port: int | None = None,
                modules: str = "none") -> tuple[subprocess.Popen[bytes], Path]:
    """The real aw-qt (its embedded server on a free port) as the desktop user."""
    proc = spawn_aw_qt(kwin.session, kwin, port or free_port(), "--autostart-modules", modules,
                       folder="aw-qt")
    return proc, kwin.session.logdir / "aw-qt.log"


def sni(kwin: KWinSession, *args: str) -> Any:
    """Ask as a tray host would (tests/aw_qt/sni_client.py, run as the desktop user)."""
    argv, env = kwin.session.python(kwin.env())
    done = kwin.session.run([*argv, "-m", "tests.aw_qt.sni_client", *args], env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def labels(node: dict[str, Any]) -> list[str]:
    return [node["label"], *(label for child in node["children"] for label in labels(child))]


def entry(node: dict[str, Any], label: str) -> dict[str, Any]:
    found = [n for n in _nodes(node) if n["label"] == label]
    assert found, (label, labels(node))
    return found[0]


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node["children"] for n in _nodes(child))]


def tooltip(kwin: KWinSession, item: str) -> str:
    return str(sni(kwin, "item", item)["ToolTip"][0])


def test_tray_icon_is_a_status_notifier_item_whose_menu_works(kde: KWinSession) -> None:
    start_status_notifier_watcher(kde)
    proc, log = start_aw_qt(kde)
    items = poll(lambda: sni(kde, "items"), "aw-qt's item at the StatusNotifierWatcher")
    assert len(items) == 1
    item = items[0]
    shown = sni(kde, "item", item)
    assert (shown["Id"], shown["Title"], shown["Status"]) == \
        ("ActivityWatch", "ActivityWatch", "Active")
    assert shown["ToolTip"][0] == "ActivityWatch (testing): Tracking"
    sizes = {(width, height) for width, height, size, _digest in shown["IconPixmap"]
             if size == 4 * width * height}  # ARGB32, one per size Qt renders
    assert {(16, 16), (22, 22), (32, 32)} <= sizes, shown["IconPixmap"]
    assert not shown["IconName"]  # our own icon, not one from the desktop's theme

    menu = sni(kde, "menu", item)
    top = [child["label"] for child in menu["children"] if child["type"] != "separator"]
    assert top[:3] == ["Tracking", "Open Dashboard", "Open API Browser"]
    assert {"Modules", "Pause tracking", "Resume tracking", QUIT} <= set(top)
    assert [c["label"] for c in entry(menu, "Pause tracking")["children"]] == \
        ["15 minutes", "1 hour", "Until tomorrow", "Until resumed"]
    assert not entry(menu, "Resume tracking")["enabled"]

    # A click in the host's menu reaches the app; the tooltip and icon follow.
    before = shown["IconPixmap"]
    assert sni(kde, "click", item, "Until resumed")["clicked"]
    poll(lambda: tooltip(kde, item).endswith("Paused until resumed"), "the paused tooltip")
    paused = sni(kde, "item", item)["IconPixmap"]
    assert [p[:3] for p in paused] == [p[:3] for p in before]  # the same sizes ...
    assert all(p[3] != b[3] for p, b in zip(paused, before, strict=True))  # ... new pixels
    assert entry(sni(kde, "menu", item), "Resume tracking")["enabled"]
    assert sni(kde, "click", item, "Resume tracking")["clicked"]
    poll(lambda: tooltip(kde, item).endswith("Tracking"), "tracking again")

    assert sni(kde, "click", item, QUIT)["clicked"]
    assert proc.wait(30) == 0
    assert "aw-server stopped" in log.read_text(errors="replace")
    assert sni(kde, "items") == []  # the watcher saw the item go


def test_without_a_status_notifier_watcher_the_window_shows_until_one_comes(
        kde: KWinSession) -> None:
    """What a user of GNOME without the AppIndicator extension sees: no watcher on the
    bus, so after its wait aw-qt shows its window, a normal Wayland window. A tray
    that comes later (the extension enabled) takes over: icon shown, window gone."""
    proc, log = start_aw_qt(kde)
    poll(lambda: "showing a window instead" in log.read_text(errors="replace"),
         "aw-qt to give up waiting for a tray", timeout=40)
    kde.wait_for_window("ActivityWatch")
    start_status_notifier_watcher(kde)
    poll(lambda: sni(kde, "items"), "aw-qt's item once a watcher is there")
    poll(lambda: all(w["caption"] != "ActivityWatch" for w in kde.driver.windows()),
         "the no-tray window to go")
    assert proc.poll() is None  # tracking went on throughout
    proc.terminate()
    assert proc.wait(30) == 0


def test_aw_qt_on_plasma_runs_both_watchers_on_the_kde_backends(kde: KWinSession) -> None:
    """The whole story on Plasma Wayland: aw-qt's watchers pick the KWin script and
    KWin's idle protocol, record into aw-qt's server, and quitting from the tray menu
    stops them, which unloads the script from KWin."""
    start_status_notifier_watcher(kde)
    kde.open_qt_window("notes — editor ✓", "org.example.Notes")
    port = free_port()
    proc, log = start_aw_qt(kde, port=port, modules="aw-watcher-afk,aw-watcher-window")
    item = poll(lambda: sni(kde, "items"), "aw-qt's item")[0]
    logs = kde.session.files / "aw-qt" / "log" / "aw-qt" / "modules"
    for name, source in (("aw-watcher-window", "window source kwin-script"),
                         ("aw-watcher-afk", "idle source ext-idle-notify-v1")):
        poll(lambda name=name, source=source: source in _text(logs / f"{name}.log"),
             f"{name} to start on its KDE backend")
    kde.activate("notes — editor ✓")
    host = socket.gethostname()

    def recorded() -> bool:
        events = _events(port, f"aw-watcher-window_{host}")
        return any(e["data"] == {"app": "org.example.Notes", "title": "notes — editor ✓"}
                   for e in events)

    poll(recorded, "the focused window in aw-qt's server")
    assert kde.driver.script_loaded("aw-watcher-window")
    afk = poll(lambda: _events(port, f"aw-watcher-afk_{host}"), "an AFK heartbeat (pre-merged "
               "for up to the client's commit interval)")
    assert afk[-1]["data"] == {"status": "not-afk"}

    assert sni(kde, "click", item, QUIT)["clicked"]
    assert proc.wait(30) == 0
    assert "all modules stopped" in log.read_text(errors="replace")
    assert not kde.driver.script_loaded("aw-watcher-window")


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _events(port: int, bucket: str) -> list[dict[str, Any]]:
    response = requests.get(f"http://127.0.0.1:{port}/api/0/buckets/{bucket}/events",
                            timeout=10)
    if response.status_code == 404:
        return []
    events: list[dict[str, Any]] = sorted(response.json(), key=lambda e: e["timestamp"])
    return events
