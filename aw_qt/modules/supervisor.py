"""The Supervisor: which modules run, restarting crashed ones, pausing, stopping.

Plain Python, no Qt: the tray, the no-tray window and `--no-gui` all drive the same
object. Nothing here runs on its own thread; the owner calls `tick()` about once a
second (a Qt timer, or the headless loop) and gets news through the `on_*` callbacks,
which therefore run on the owner's thread.

A module that exits with EXIT_UNSUPPORTED (3) said "this session cannot be tracked"
(no display, a Wayland desktop without what it needs) and logged why: restarting it
cannot help, so it is not restarted and `on_unsupported` gets that reason once.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from aw_qt.clock import Clock, SystemClock
from aw_qt.modules.finder import ModuleSpec
from aw_qt.modules.process import ModuleProcess, describe_exit, stop_all
from aw_qt.pause import PauseState, PauseStore
from watchers.process import EXIT_UNSUPPORTED

logger = logging.getLogger(__name__)

RESTART_LIMIT = 3  # automatic restarts allowed ...
RESTART_WINDOW_S = 600.0  # ... within this sliding window


class ModuleState(Enum):
    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"  # stopped by a pause; starts again on resume
    FAILED = "failed"  # crashed too often, or could not be started
    UNSUPPORTED = "not supported here"  # exited 3: cannot track this session


@dataclass(frozen=True)
class ModuleStatus:
    name: str
    state: ModuleState
    source: str
    pid: int | None
    restarts: int  # automatic restarts within the current window
    exit_reason: str = ""  # how its last unexpected exit happened ("exited with code 3")


class _Module:
    def __init__(self, spec: ModuleSpec) -> None:
        self.spec = spec
        self.process: ModuleProcess | None = None
        self.wanted = False  # we started it and did not ask it to stop
        self.failed = False
        self.unsupported = ""  # the reason it gave for exiting 3
        self.restarts: deque[float] = deque()
        self.exit_reason = ""


class Supervisor:
    def __init__(self, specs: Mapping[str, ModuleSpec], *, log_dir: Path,
                 pause_store: PauseStore, extra_args: Iterable[str] = (),
                 clock: Clock | None = None, stop_timeout: float = 10.0,
                 env: dict[str, str] | None = None) -> None:
        self._modules = {name: _Module(spec) for name, spec in sorted(specs.items())}
        self._log_dir = log_dir
        self._extra_args = tuple(extra_args)
        self._pause_store = pause_store
        self._pause: PauseState | None = None
        self._clock = clock or SystemClock()
        self._stop_timeout = stop_timeout
        self._env = env
        self._shut_down = False
        self.on_change: Callable[[], None] = lambda: None
        self.on_restarted: Callable[[str, int], None] = lambda name, attempt: None
        self.on_gave_up: Callable[[str, str], None] = lambda name, log_tail: None
        self.on_unsupported: Callable[[str, str], None] = lambda name, reason: None

    # -- reading --------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._modules)

    def status(self, name: str) -> ModuleStatus:
        module = self._modules[name]
        proc = module.process
        if module.wanted and proc is not None and proc.is_alive():
            state = ModuleState.RUNNING
        elif module.unsupported:
            state = ModuleState.UNSUPPORTED
        elif module.failed:
            state = ModuleState.FAILED
        elif self._pause is not None and name in self._pause.modules:
            state = ModuleState.PAUSED
        else:
            state = ModuleState.STOPPED
        return ModuleStatus(name, state, module.spec.source,
                            proc.pid if proc is not None and proc.is_alive() else None,
                            len(module.restarts), module.exit_reason)

    def statuses(self) -> list[ModuleStatus]:
        return [self.status(name) for name in self._modules]

    @property
    def pause_state(self) -> PauseState | None:
        return self._pause

    def log_tail(self, name: str) -> str:
        proc = self._modules[name].process
        return proc.log_tail() if proc is not None else ""

    # -- starting and stopping ------------------------------------------------------------
    def start(self, autostart: Iterable[str]) -> None:
        """Start the configured modules, unless a pause from an earlier run still holds."""
        names = list(autostart)
        wanted = [n for n in names if n in self._modules]
        for name in names:
            if name not in self._modules:
                logger.warning("module %r is not installed; not starting it", name)
        saved = self._pause_store.load()
        if saved is not None and not saved.expired(self._clock.now()):
            self._pause = saved
            logger.info("%s (from before the restart)", saved.describe())
        else:
            if saved is not None:
                self._pause_store.clear()
                logger.info("the pause ended while aw-qt was not running; tracking again")
            for name in wanted:
                self._spawn(self._modules[name])
        self.on_change()

    def start_module(self, name: str) -> None:
        module = self._modules[name]
        module.restarts.clear()  # a manual start resets the budget (ActivityWatch #121)
        module.failed = False
        module.unsupported = ""
        module.exit_reason = ""
        if self._pause is not None:
            self._set_paused_modules(set(self._pause.modules) | {name})
        elif not (module.process is not None and module.process.is_alive()):
            self._spawn(module)
        self.on_change()

    def stop_module(self, name: str) -> None:
        module = self._modules[name]
        module.wanted = False
        module.failed = False
        module.unsupported = ""
        module.restarts.clear()
        module.exit_reason = ""
        if self._pause is not None:
            self._set_paused_modules(set(self._pause.modules) - {name})
        if module.process is not None:
            stop_all([module.process], self._stop_timeout)
        self.on_change()

    def toggle(self, name: str) -> None:
        """What clicking the module's menu item does."""
        if self.status(name).state in (ModuleState.RUNNING, ModuleState.PAUSED):
            self.stop_module(name)
        else:
            self.start_module(name)

    def restart(self, name: str) -> None:
        """The crash dialog's Restart button: a fresh budget and a new process."""
        self.stop_module(name)
        self.start_module(name)

    def _spawn(self, module: _Module) -> None:
        log_path = self._log_dir / f"{module.spec.name}.log"
        module.process = ModuleProcess(module.spec, self._extra_args, log_path, self._env)
        module.wanted = True
        module.failed = False
        module.unsupported = ""
        try:
            module.process.start()
        except OSError as exc:
            logger.error("cannot start %s: %s", module.spec.name, exc)
            module.wanted = False
            module.failed = True
            self.on_gave_up(module.spec.name, f"Could not start {module.spec.argv[0]}: {exc}")

    # -- pause ----------------------------------------------------------------------------
    def pause(self, until: datetime | None) -> None:
        """Stop the running modules until `until` (None: until `resume`)."""
        if self._pause is not None:
            running = set(self._pause.modules)
        else:
            running = {n for n in self._modules
                       if self.status(n).state is ModuleState.RUNNING}
        self._pause = PauseState(until, tuple(sorted(running)))
        self._pause_store.save(self._pause)
        to_stop = [m for n, m in self._modules.items() if n in running]
        for module in to_stop:
            module.wanted = False
        stop_all([m.process for m in to_stop if m.process is not None], self._stop_timeout)
        logger.info("%s", self._pause.describe())
        self.on_change()

    def resume(self) -> None:
        if self._pause is None:
            return
        names = self._pause.modules
        self._pause = None
        self._pause_store.clear()
        logger.info("tracking resumed")
        for name in names:
            if name in self._modules:
                self._spawn(self._modules[name])
        self.on_change()

    def _set_paused_modules(self, names: set[str]) -> None:
        assert self._pause is not None
        self._pause = PauseState(self._pause.until, tuple(sorted(names)))
        self._pause_store.save(self._pause)

    # -- the periodic check -----------------------------------------------------------------
    def tick(self) -> None:
        """Restart modules that died on their own; end a timed pause that is over."""
        if self._shut_down:
            return
        if self._pause is not None and self._pause.expired(self._clock.now()):
            self.resume()
        changed = False
        for name, module in self._modules.items():
            proc = module.process
            if module.wanted and proc is not None and not proc.is_alive():
                changed = True
                if proc.returncode == EXIT_UNSUPPORTED:
                    self._handle_unsupported(name, module, proc.log_tail())
                else:
                    self._handle_crash(name, module, proc.returncode)
        if changed:
            self.on_change()

    def _handle_crash(self, name: str, module: _Module, code: int | None) -> None:
        module.exit_reason = describe_exit(code)
        if module.process is not None:
            module.process.note(f"{name} {module.exit_reason}")
        now = self._clock.monotonic()
        while module.restarts and now - module.restarts[0] > RESTART_WINDOW_S:
            module.restarts.popleft()
        if len(module.restarts) < RESTART_LIMIT:
            module.restarts.append(now)
            attempt = len(module.restarts)
            logger.warning("%s %s; restart %d of %d", name, module.exit_reason, attempt,
                           RESTART_LIMIT)
            self._spawn(module)
            if not module.failed:
                self.on_restarted(name, attempt)
            return
        logger.error("%s %s after %d automatic restarts; giving up", name,
                     module.exit_reason, RESTART_LIMIT)
        module.wanted = False
        module.failed = True
        self.on_gave_up(name, self.log_tail(name))

    def _handle_unsupported(self, name: str, module: _Module, log_tail: str) -> None:
        module.wanted = False
        module.unsupported = unsupported_reason(log_tail)
        logger.error("%s cannot track this session: %s", name, module.unsupported)
        self.on_unsupported(name, module.unsupported)

    # -- the end ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every module (SIGTERM, then SIGKILL after the timeout). A pause is kept."""
        if self._shut_down:
            return
        self._shut_down = True
        for module in self._modules.values():
            module.wanted = False
        stop_all([m.process for m in self._modules.values() if m.process is not None],
                 self._stop_timeout)
        logger.info("all modules stopped")


# What the watchers log before exiting 3 (watchers/command.py), with the logger's name
# that ends each line in their log format.
_UNAVAILABLE = re.compile(r"tracking is unavailable: (?P<reason>.*?)(?:\s+\([\w.]+\))?$")


def unsupported_reason(log_tail: str) -> str:
    """The reason a module gave for exiting 3: our watchers' "... tracking is
    unavailable: REASON" line, else (another program) its last line of output."""
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    for line in reversed(lines):
        found = _UNAVAILABLE.search(line)
        if found:
            return found["reason"]
    return lines[-1] if lines else "it cannot track this session (no reason given)"
