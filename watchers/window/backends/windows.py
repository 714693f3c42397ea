"""Windows focused window through ctypes (user32/kernel32; no pywin32, no WMI).

`QueryFullProcessImageNameW` with PROCESS_QUERY_LIMITED_INFORMATION also works for
elevated processes, which is why ActivityWatch needed its slow WMI fallback (#654)
and we do not. Not runnable on the Linux CI; `app_name` is the logic tested there.
"""

from __future__ import annotations

import ctypes
import ntpath
from typing import Any

from watchers.window.backends import (
    NOTHING_FOCUSED,
    UNKNOWN,
    BackendUnavailableError,
    PollingMixin,
    WindowInfo,
)

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_MAX_PATH = 32768


def app_name(image_path: str | None) -> str:
    """`C:\\...\\firefox.exe` → `firefox.exe`, the app name ActivityWatch records on Windows."""
    if not image_path:
        return UNKNOWN
    return ntpath.basename(image_path) or UNKNOWN


class WindowsWindowBackend(PollingMixin):
    name = "windows"

    def __init__(self) -> None:
        windll: Any = getattr(ctypes, "windll", None)
        if windll is None:
            raise BackendUnavailableError("not running on Windows")
        self._user32 = windll.user32
        self._kernel32 = windll.kernel32

    def current_window(self) -> WindowInfo | None:
        hwnd = self._user32.GetForegroundWindow()
        if not hwnd:
            return NOTHING_FOCUSED  # lock screen, or focus in transition
        length = self._user32.GetWindowTextLengthW(hwnd)
        buffer = ctypes.create_unicode_buffer(length + 1)
        self._user32.GetWindowTextW(hwnd, buffer, length + 1)
        pid = ctypes.c_ulong()
        self._user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        return WindowInfo(app=app_name(self._image_path(pid.value)), title=buffer.value)

    def _image_path(self, pid: int) -> str | None:
        handle = self._kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return None
        try:
            size = ctypes.c_ulong(_MAX_PATH)
            path = ctypes.create_unicode_buffer(_MAX_PATH)
            if not self._kernel32.QueryFullProcessImageNameW(handle, 0, path, ctypes.byref(size)):
                return None
            return path.value
        finally:
            self._kernel32.CloseHandle(handle)

    def close(self) -> None:
        pass
