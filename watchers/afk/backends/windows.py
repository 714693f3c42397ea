"""Windows idle time: `GetLastInputInfo` against `GetTickCount64` (ctypes, no pywin32).

Not runnable on the Linux CI: `idle_milliseconds` holds all the logic and is tested
there; the ctypes calls are the documented Win32 signatures.
"""

from __future__ import annotations

import ctypes
from typing import Any

from watchers.afk.backends import BackendUnavailableError

_WRAP = 1 << 32


def idle_milliseconds(tick_count64: int, last_input_tick32: int) -> int:
    """Milliseconds since input, correct across the 49.7-day wrap of the 32-bit tick.

    `LASTINPUTINFO.dwTime` is a 32-bit tick; comparing it with the low 32 bits of the
    64-bit tick modulo 2^32 gives the elapsed time whether or not either wrapped.
    """
    return ((tick_count64 & (_WRAP - 1)) - last_input_tick32) % _WRAP


class _LastInputInfo(ctypes.Structure):
    _fields_ = [("cbSize", ctypes.c_uint), ("dwTime", ctypes.c_uint32)]


class WindowsIdleBackend:
    name = "windows"

    def __init__(self) -> None:
        windll: Any = getattr(ctypes, "windll", None)
        if windll is None:
            raise BackendUnavailableError("not running on Windows")
        self._user32 = windll.user32
        self._kernel32 = windll.kernel32
        self._kernel32.GetTickCount64.restype = ctypes.c_uint64

    def seconds_since_input(self) -> float:
        info = _LastInputInfo()
        info.cbSize = ctypes.sizeof(_LastInputInfo)
        if not self._user32.GetLastInputInfo(ctypes.byref(info)):
            raise OSError("GetLastInputInfo failed")
        return idle_milliseconds(int(self._kernel32.GetTickCount64()), int(info.dwTime)) / 1000.0

    def close(self) -> None:
        pass
