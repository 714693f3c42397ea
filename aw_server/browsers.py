"""Which window `app` a web-watcher bucket's browser runs as.

A browser's tab events only mean something while that browser's window is focused; the
dashboard's query and the tray's "today" figure both cut them to those windows. The
table is the dashboard's (`BROWSER_APPS` in the static `js/queries.js`); a test keeps
the two the same.
"""

from __future__ import annotations

import re

WEB_TYPE = "web.tab.current"
WEB_PREFIX = "aw-watcher-web"

# (name found in the bucket id, regex on the window watcher's `app`), first match wins:
# "chromium" before "chrome".
BROWSER_APPS: tuple[tuple[str, str], ...] = (
    ("firefox", "firefox|librewolf|waterfox|iceweasel|nightly|floorp|zen"),
    ("chromium", "chromium"),
    ("chrome", "chrome"),
    ("edge", r"msedge|microsoft-edge|\bedge\b"),
    ("brave", "brave"),
    ("opera", "opera"),
    ("vivaldi", "vivaldi"),
    ("safari", "safari"),
    ("arc", "^arc$"),
)

_MIRROR_SUFFIX = re.compile(r"-synced-from-[^-]+$")


def is_browser_bucket(bucket_id: str, bucket_type: str) -> bool:
    return bucket_type == WEB_TYPE or bucket_id.startswith(WEB_PREFIX)


def browser_app_pattern(bucket_id: str) -> re.Pattern[str] | None:
    """The `app` regex (searched, case-blind) of the browser a web bucket belongs to.

    A sync mirror (`...-synced-from-<device>`) is judged by the watcher's own id; None
    when the id names no known browser.
    """
    original = _MIRROR_SUFFIX.sub("", bucket_id).lower()
    for name, pattern in BROWSER_APPS:
        if name in original:
            return re.compile(f"(?i)({pattern})")
    return None
