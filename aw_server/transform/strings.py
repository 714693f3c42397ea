"""Derived string fields: URL decomposition and window-title cleanup (aw-core semantics)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from aw_server.models import Event

_PARENS_PREFIX = re.compile(r"^\([0-9]+\)\s*")  # "(2) Inbox" -> "Inbox"
_LEADING_MARK = re.compile(r"^(●|\*)\s*")  # unsaved-file markers (VS Code ●, gedit *)
_FPS = re.compile(r"FPS:\s+[0-9\.]+")  # games print a live frame rate into the title


def _url_fields(url: str) -> dict[str, str] | None:
    try:
        parsed = urlparse(url)
    except ValueError:  # e.g. an unterminated IPv6 host "http://[::1"
        return None
    netloc = parsed.netloc
    # Host-less URLs (file://, about:blank) group under their scheme, not under "".
    domain = (netloc[4:] if netloc.startswith("www.") else netloc) if netloc else parsed.scheme
    return {
        "$protocol": parsed.scheme,
        "$domain": domain,
        "$path": parsed.path,
        "$params": parsed.params,
        "$options": parsed.query,
        "$identifier": parsed.fragment,
    }


def split_url_events(events: list[Event]) -> list[Event]:
    """Add `$protocol, $domain, $path, $params, $options, $identifier` from `data["url"]`.

    Events without a string url (or with one urlparse rejects) pass through unchanged.
    """
    memo: dict[str, dict[str, str] | None] = {}
    result: list[Event] = []
    for event in events:
        url = event.data.get("url")
        if not isinstance(url, str):
            result.append(event)
            continue
        if url in memo:
            fields = memo[url]
        else:
            fields = memo[url] = _url_fields(url)
        if fields is None:
            result.append(event)
            continue
        data: dict[str, Any] = dict(event.data)
        data.update(fields)
        result.append(Event(event.timestamp_us, event.duration_us, data, event.id))
    return result


def simplify_string(value: str, key: str, has_app: bool) -> str:
    value = _PARENS_PREFIX.sub("", value)
    if key == "title" and has_app:
        value = _FPS.sub("FPS: ...", value)
        value = _LEADING_MARK.sub("", value)
    return value


def simplify_window_titles(events: list[Event], key: str) -> list[Event]:
    """Strip notification counters "(3) ", and for window titles also FPS read-outs and
    leading unsaved markers, so variants of one title merge. Events without a string
    `data[key]` pass through (aw-core would fail on them).
    """
    result: list[Event] = []
    for event in events:
        value = event.data.get(key)
        if not isinstance(value, str):
            result.append(event)
            continue
        simplified = simplify_string(value, key, "app" in event.data)
        if simplified == value:
            result.append(event)
            continue
        data = dict(event.data)
        data[key] = simplified
        result.append(Event(event.timestamp_us, event.duration_us, data, event.id))
    return result
