"""The privacy rules set in the dashboard reach the window watcher.

The dashboard stores `{exclude_title, exclude_titles, exclude_apps}` under the server's
`privacy` setting; the watcher applies them together with its own config file's rules,
so a title hidden by either never leaves the watcher. The setting is fetched at start
and then every `REFRESH_S` in a thread of its own (the poll loop never waits on the
network), and the last value seen is kept on disk: when the server is down at start,
the rules the user set are still applied to what gets queued.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from watchers.process import Stopper
from watchers.window.backends import WindowInfo
from watchers.window.privacy import PrivacyRules

logger = logging.getLogger(__name__)

REFRESH_S = 60.0
SETTING_KEY = "privacy"


class SharedPrivacy:
    def __init__(self, local: PrivacyRules, fetch: Callable[[], Any],
                 cache_path: str | os.PathLike[str], *, refresh_s: float = REFRESH_S) -> None:
        self.local = local
        self._fetch = fetch
        self._cache_path = os.fspath(cache_path)
        self._refresh_s = refresh_s
        self._server_value: Any = self._read_cache()
        self._rules = local.merged(PrivacyRules.from_setting(self._server_value))
        self._thread: threading.Thread | None = None

    @property
    def rules(self) -> PrivacyRules:
        return self._rules

    def apply(self, window: WindowInfo) -> dict[str, str]:
        return self._rules.apply(window)

    def refresh(self) -> bool:
        """Fetch the setting once; True if it changed. A failure keeps the last rules."""
        try:
            value = self._fetch()
        except Exception as exc:  # network, HTTP or JSON trouble: try again later
            logger.debug("could not read the server's privacy setting: %s", exc)
            return False
        if value == self._server_value:
            return False
        self._server_value = value
        self._rules = self.local.merged(PrivacyRules.from_setting(value))
        self._write_cache(value)
        logger.info("privacy rules from the server updated")
        return True

    def start(self, stopper: Stopper) -> None:
        """Refresh now, then every `refresh_s` until `stopper` is set."""
        self.refresh()

        def loop() -> None:
            while not stopper.wait(self._refresh_s):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="privacy-refresh", daemon=True)
        self._thread.start()

    def _read_cache(self) -> Any:
        try:
            with open(self._cache_path, encoding="utf-8") as cache:
                return json.load(cache)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("ignoring the cached privacy setting %s: %s", self._cache_path, exc)
            return None

    def _write_cache(self, value: Any) -> None:
        temp = os.path.splitext(self._cache_path)[0] + ".tmp"
        try:
            os.makedirs(os.path.dirname(self._cache_path), exist_ok=True)
            with open(temp, "w", encoding="utf-8") as out:
                json.dump(value, out)
            os.replace(temp, self._cache_path)
        except OSError as exc:
            logger.warning("could not keep the privacy setting in %s: %s", self._cache_path, exc)
            with contextlib.suppress(OSError):
                os.unlink(temp)
