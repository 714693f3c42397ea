"""Opening an X display with only the X extensions a watcher uses.

python-xlib's `Display()` imports and initialises a module for every extension in
`Xlib.ext.__extensions__` that the server offers (XInput, RANDR, RECORD, XFIXES, ...):
about 0.65 MB of memory a watcher keeps for its whole life, for protocol code it never
calls. The window watcher speaks only the core protocol and the AFK watcher needs
MIT-SCREEN-SAVER alone, so each opens its display with the list narrowed to what it
names. The list is swapped only while the display is being set up, under a lock, so
a display opened elsewhere in the process later still gets every extension.

python-xlib's connection module also indexes `platform.uname()` when it is first
imported, and that makes Python ask for the processor type by running `uname -p` in a
subprocess: a fork and exec at every start, and `subprocess` kept in memory (0.35 MB)
for a value python-xlib never reads. `processor` is a `functools.cached_property`, so a
value placed in the result's `__dict__` first answers it without the subprocess.
"""

from __future__ import annotations

import contextlib
import platform
import threading
from collections.abc import Iterable
from typing import Any

_swap_lock = threading.Lock()


def open_display(display_name: str | None, extensions: Iterable[str]) -> Any:
    """`Xlib.display.Display(display_name)` loading only the named extensions (by their
    X name, e.g. "MIT-SCREEN-SAVER"); `has_extension` is true only for those the server
    also offers. Raises what `Display()` raises (`Xlib.error.DisplayError`, OSError)."""
    _skip_processor_probe()
    from Xlib import display as xdisplay
    from Xlib import ext

    wanted = set(extensions)
    with _swap_lock:
        every = ext.__extensions__
        ext.__extensions__ = [pair for pair in every if pair[0] in wanted]
        try:
            return xdisplay.Display(display_name)
        finally:
            ext.__extensions__ = every


def _skip_processor_probe() -> None:
    """Answer `platform.uname().processor` with "" unless it is already known: Debian's
    `uname -p` says "unknown", which `platform` turns into "" anyway, and nothing in a
    watcher reads it."""
    uname = platform.uname()
    with contextlib.suppress(AttributeError, TypeError):  # an interpreter without the cache
        vars(uname).setdefault("processor", "")
