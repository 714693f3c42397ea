"""Title and app exclusion, applied inside the watcher so a hidden title never leaves it.

ActivityWatch semantics: `exclude_title = true` replaces every title with "excluded";
`exclude_titles` is a list of case-insensitive regular expressions, and a title any of
them finds (re.search) is replaced. We add `exclude_apps`: regexes searched in the
app name, whose matches get their title replaced too, for apps whose titles are
private as a whole (a password manager, a private browser profile). The app name is
kept, so the time still counts.

Every backend's window goes through `PrivacyRules.apply` in the watcher loop, the one
place that builds the event data, so no backend can bypass it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from watchers.window.backends import WindowInfo

logger = logging.getLogger(__name__)

EXCLUDED = "excluded"


class InvalidPatternError(ValueError):
    """A configured regex does not compile; the message names it and the config key."""


def compile_patterns(key: str, patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            raise InvalidPatternError(f"{key}: bad regular expression {pattern!r}: {exc}") from exc
    return tuple(compiled)


@dataclass(frozen=True)
class PrivacyRules:
    exclude_title: bool = False
    exclude_titles: tuple[re.Pattern[str], ...] = ()
    exclude_apps: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_config(
        cls, exclude_title: bool, exclude_titles: Iterable[str], exclude_apps: Iterable[str] = ()
    ) -> PrivacyRules:
        return cls(
            exclude_title=bool(exclude_title),
            exclude_titles=compile_patterns("exclude_titles", exclude_titles),
            exclude_apps=compile_patterns("exclude_apps", exclude_apps),
        )

    @classmethod
    def from_setting(cls, value: Any) -> PrivacyRules:
        """The server's `privacy` setting, written by the dashboard. Lenient: a rule that
        does not compile is logged and skipped, so one typo never stops tracking."""
        if not isinstance(value, dict):
            if value is not None:
                logger.warning("ignoring the server's privacy setting: not an object")
            return cls()
        patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
        for key in ("exclude_titles", "exclude_apps"):
            raw = value.get(key) or []
            good: list[re.Pattern[str]] = []
            for pattern in raw if isinstance(raw, list) else []:
                try:
                    good.extend(compile_patterns(key, [pattern]))
                except InvalidPatternError as exc:
                    logger.warning("ignoring a privacy rule from the server: %s", exc)
            patterns[key] = tuple(good)
        return cls(exclude_title=value.get("exclude_title") is True,
                   exclude_titles=patterns["exclude_titles"],
                   exclude_apps=patterns["exclude_apps"])

    def merged(self, other: PrivacyRules) -> PrivacyRules:
        """Both sets of rules at once: a title either hides stays hidden."""
        return PrivacyRules(exclude_title=self.exclude_title or other.exclude_title,
                            exclude_titles=self.exclude_titles + other.exclude_titles,
                            exclude_apps=self.exclude_apps + other.exclude_apps)

    def hides_title(self, window: WindowInfo) -> bool:
        if self.exclude_title:
            return True
        if any(p.search(window.app) for p in self.exclude_apps):
            return True
        return any(p.search(window.title) for p in self.exclude_titles)

    def apply(self, window: WindowInfo) -> dict[str, str]:
        """The event data to record for `window`: `{"app", "title"}` with exclusions applied."""
        title = EXCLUDED if self.hides_title(window) else window.title
        return {"app": window.app, "title": title}
