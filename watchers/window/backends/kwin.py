"""KDE Plasma: the focused window, reported by a KWin script loaded into the compositor.

Wayland shows no client the other clients' windows, and KWin offers no protocol or
D-Bus call for "the active window". What it does offer is scripting: we load our own
small script (`resources/kwin-script/aw-watcher-window.js`) over D-Bus, and KWin runs
it inside the compositor. The script calls our D-Bus method `WindowChanged` whenever
the active window or its title changes, so nothing is polled: the watcher's `wait()`
wakes on each call and stamps the switch with the moment the call arrived. Native
Wayland and XWayland windows are both KWin windows, so both arrive the same way.

The script is unloaded when the watcher stops. A watcher killed with SIGKILL cannot
do that, so at start, once we own our D-Bus name (which proves no other watcher is
alive), a script still loaded under our name is a leftover and is unloaded first.
If KWin itself restarts (Plasma restarts a crashed KWin within the session), its
scripts are gone; we see its D-Bus name change owner and load ours again.

KWin 5.27 and 6 differ in the object path of a loaded script (`/<id>` vs
`/Scripting/Script<id>`) and in the script API (handled inside the script).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

from watchers.dbus import (
    BUS_DAEMON,
    ERROR_UNKNOWN_METHOD,
    ChangeNotice,
    DBusCallError,
    DBusService,
    DBusUnavailableError,
    Endpoint,
    MatchSpec,
    SessionBus,
    Signal,
    SignalListener,
)
from watchers.process import Stopper
from watchers.resources import resources_dir
from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendGoneError,
    BackendUnavailableError,
    WindowInfo,
)

logger = logging.getLogger(__name__)

SCRIPT_NAME = "aw-watcher-window"  # the name KWin knows our script by
WATCHER_SERVICE = "org.activitywatch.WindowWatcher"  # the script's callDBus target
WATCHER_INTERFACE = WATCHER_SERVICE
KWIN_SERVICE = "org.kde.KWin"
SCRIPTING = Endpoint(KWIN_SERVICE, "/Scripting", "org.kde.kwin.Scripting")
SCRIPT_INTERFACE = "org.kde.kwin.Script"
FIRST_REPORT_TIMEOUT = 5.0  # s for a freshly loaded script to report the active window
# A restarted KWin takes its bus name before it has registered /Scripting: loading the
# script is tried again at every poll for this long before the watcher gives up.
RELOAD_PATIENCE = 30.0
DUPLICATE_MARKER = re.compile(" <[0-9]+>\u200e?$")
# KWin announces a switch as two activations about a millisecond apart: first no window,
# then the new one. A "none" is only believed once this long (s) passes without news.
SETTLE_QUIET = 0.03
SETTLE_MAX = 0.25  # s at most spent waiting for the window after a "none"


def script_file() -> Path:
    return resources_dir() / "kwin-script" / f"{SCRIPT_NAME}.js"


def window_from_script(resource_class: str, resource_name: str, caption: str) -> WindowInfo:
    """The script's report as WindowInfo; all empty means no window is active.

    The app is KWin's resource class: the Wayland app id of native windows (`foot`,
    `org.kde.dolphin`), the WM_CLASS class of XWayland windows (KWin lower-cases it).
    The title is the window's own: KWin tells apart windows with equal titles by
    appending " <2>" (and, for X11 windows, a left-to-right mark) to the caption it
    shows, and the script API offers no other caption, so that marker is taken off.
    """
    if not (resource_class or resource_name or caption):
        return NOTHING_FOCUSED
    title = DUPLICATE_MARKER.sub("", caption)
    return WindowInfo(app=resource_class or resource_name or UNKNOWN, title=title)


class KWinScripting:
    """KWin's scripting service, as far as loading, running and unloading our script."""

    def __init__(self, bus: SessionBus) -> None:
        self._bus = bus

    def is_loaded(self) -> bool:
        return bool(self._bus.call(SCRIPTING, "isScriptLoaded", "s", (SCRIPT_NAME,))[0])

    def unload(self) -> bool:
        return bool(self._bus.call(SCRIPTING, "unloadScript", "s", (SCRIPT_NAME,))[0])

    def load_and_run(self, path: Path) -> int:
        """Load `path` under our name and start it; returns KWin's id for it."""
        script_id = int(self._bus.call(SCRIPTING, "loadScript", "ss", (str(path), SCRIPT_NAME))[0])
        if script_id < 0:
            raise DBusCallError("refused", f"KWin did not load {path} (loadScript returned "
                                           f"{script_id})")
        for object_path in (f"/Scripting/Script{script_id}", f"/{script_id}"):  # KWin 6, 5
            try:
                self._bus.call(Endpoint(KWIN_SERVICE, object_path, SCRIPT_INTERFACE), "run")
            except DBusCallError as exc:
                if exc.no_such_object:
                    continue
                raise
            return script_id
        raise DBusCallError("refused", f"KWin loaded script {script_id} but offers no "
                                       f"object to run it")


class KWinWindowBackend:
    name = "kwin-script"

    def __init__(self, script: Path | None = None,
                 first_report_timeout: float = FIRST_REPORT_TIMEOUT) -> None:
        self._script = script or script_file()
        if not self._script.is_file():
            raise BackendUnavailableError(f"the KWin script {self._script} is missing "
                                          f"(reinstall aw-reimpl)")
        self._lock = threading.Lock()
        self._window: WindowInfo | None = None
        self._reported = threading.Event()
        self._kwin_restarted = threading.Event()
        self._reload_until: float | None = None  # a restarted KWin still lacks our script
        self._bus_lost = threading.Event()
        self._notice = ChangeNotice()
        self._opened: list[SessionBus | DBusService | SignalListener | ChangeNotice] = [
            self._notice]
        try:
            self._open(first_report_timeout)
        except (DBusUnavailableError, DBusCallError) as exc:
            self._close_connections()
            raise BackendUnavailableError(f"KDE (KWin script): {exc}") from exc
        except BackendUnavailableError:
            self._close_connections()
            raise

    def _open(self, first_report_timeout: float) -> None:
        bus = SessionBus.open()
        self._opened.append(bus)
        self._kwin = KWinScripting(bus)
        if not bus.name_has_owner(KWIN_SERVICE):
            raise BackendUnavailableError(
                f"KWin is not running in this session (nothing owns {KWIN_SERVICE} on the "
                f"D-Bus session bus); this backend needs KDE Plasma's KWin")
        if bus.name_has_owner(WATCHER_SERVICE):
            raise BackendUnavailableError(
                f"another aw-watcher-window already tracks this KDE session (it owns "
                f"{WATCHER_SERVICE} on the session bus); stop it first")
        self._opened.append(DBusService(WATCHER_SERVICE, self._on_call))
        self._opened.append(SignalListener(
            [MatchSpec(interface=BUS_DAEMON, member="NameOwnerChanged", arg0=KWIN_SERVICE)],
            self._on_kwin_owner, on_lost=self._on_bus_lost))
        self._load()
        if not self._reported.wait(first_report_timeout):
            self._unload()
            raise BackendUnavailableError(
                f"KWin loaded the window script but it did not report within "
                f"{first_report_timeout:.0f} s (KWin's log may say why)")
        self._notice.take()  # that first report is the starting state, not a change

    def _load(self) -> None:
        """Unload a script a killed watcher left behind, then load and start ours."""
        if self._kwin.is_loaded():
            logger.info("Unloading KWin script %r left behind by an earlier watcher",
                        SCRIPT_NAME)
            self._kwin.unload()
        script_id = self._kwin.load_and_run(self._script)
        logger.info("Loaded KWin script %r (id %d) from %s", SCRIPT_NAME, script_id,
                    self._script)

    # -- called on the D-Bus threads --------------------------------------------------

    def _on_call(self, _path: str, _interface: str, member: str,
                 args: tuple[object, ...]) -> None:
        if member != "WindowChanged" or len(args) != 3:
            raise DBusCallError(ERROR_UNKNOWN_METHOD, f"no method {member} with "
                                                      f"{len(args)} arguments")
        window = window_from_script(*(str(arg) for arg in args))
        with self._lock:
            self._window = window
        self._reported.set()
        self._notice.mark()

    def _on_kwin_owner(self, signal: Signal) -> None:
        _name, _old_owner, new_owner = signal.body
        if new_owner:
            self._kwin_restarted.set()
            self._notice.mark()
        else:
            logger.warning("KWin left the session bus; waiting for it to come back")

    def _on_bus_lost(self) -> None:
        self._bus_lost.set()
        self._notice.mark()

    # -- the WindowBackend protocol ----------------------------------------------------

    def current_window(self) -> WindowInfo | None:
        with self._lock:
            return self._window

    def wait(self, timeout: float, stopper: Stopper) -> int | None:
        stopper.wait(timeout, extra_fd=self._notice.fileno)
        changed_at = self._notice.take()
        settle_end = time.monotonic() + SETTLE_MAX
        while (self.current_window() == NOTHING_FOCUSED and changed_at is not None
               and time.monotonic() < settle_end):
            # Wait out the "no window" KWin reports in the middle of a switch.
            if stopper.wait(SETTLE_QUIET, extra_fd=self._notice.fileno):
                break
            if self._notice.take() is None:
                break
        if self._bus_lost.is_set():
            raise BackendGoneError("the D-Bus session bus closed (the session ended)")
        if self._kwin_restarted.is_set():
            self._kwin_restarted.clear()
            logger.info("KWin restarted; loading the window script again")
            self._reload_until = time.monotonic() + RELOAD_PATIENCE
        if self._reload_until is not None:
            self._reload()
        return changed_at

    def _reload(self) -> None:
        """One try at loading the script into a restarted KWin; given up after
        RELOAD_PATIENCE, since a KWin that never offers scripting needs the user."""
        assert self._reload_until is not None
        try:
            self._load()
        except DBusCallError as exc:
            if time.monotonic() < self._reload_until:
                logger.debug("KWin is not ready for the script yet (%s); trying again", exc)
                return
            logger.error("Could not load the KWin script into the restarted KWin for "
                         "%.0f s: %s. Restart aw-watcher-window (from the tray's menu) "
                         "once KDE is back.", RELOAD_PATIENCE, exc)
        self._reload_until = None

    def close(self) -> None:
        self._unload()
        self._close_connections()

    def _unload(self) -> None:
        try:
            if self._kwin.is_loaded():
                self._kwin.unload()
                logger.info("Unloaded KWin script %r", SCRIPT_NAME)
        except DBusCallError as exc:  # KWin or the bus already gone: nothing left to undo
            logger.debug("Could not unload the KWin script: %s", exc)

    def _close_connections(self) -> None:
        for opened in reversed(self._opened):
            opened.close()
        self._opened.clear()
