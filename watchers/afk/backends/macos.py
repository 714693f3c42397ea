"""macOS idle time: Quartz `CGEventSourceSecondsSinceLastEventType` through ctypes.

Calling the C function directly avoids a pyobjc dependency for one call. Not runnable
on the Linux CI: the constants are from CGEventTypes.h / CGEventSource.h and the
result is used as is (seconds, a double), as ActivityWatch uses it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any

from watchers.afk.backends import BackendUnavailableError

K_CG_EVENT_SOURCE_STATE_HID_SYSTEM_STATE = 1
K_CG_ANY_INPUT_EVENT_TYPE = 0xFFFFFFFF  # ~0 as a uint32


class QuartzIdleBackend:
    name = "quartz"

    def __init__(self) -> None:
        if sys.platform != "darwin":
            raise BackendUnavailableError("not running on macOS")
        path = ctypes.util.find_library("ApplicationServices")
        if path is None:
            raise BackendUnavailableError("ApplicationServices framework not found")
        lib = ctypes.cdll.LoadLibrary(path)
        self._fn: Any = lib.CGEventSourceSecondsSinceLastEventType
        self._fn.restype = ctypes.c_double
        self._fn.argtypes = [ctypes.c_int32, ctypes.c_uint32]

    def seconds_since_input(self) -> float:
        return float(self._fn(K_CG_EVENT_SOURCE_STATE_HID_SYSTEM_STATE, K_CG_ANY_INPUT_EVENT_TYPE))

    def close(self) -> None:
        pass
