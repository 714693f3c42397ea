"""Choices the tray remembers for the user, kept in `aw-qt.toml` itself.

The user's file is theirs: it holds comments and commented-out defaults. So a choice is
written by changing (or adding) one `key = value` line in one section and leaving every
other line as it was, and the result is parsed before it replaces the file, so a file we
do not understand is never damaged.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path


def recall(path: Path, section: str, key: str) -> object:
    """The key's value, or None when the file, the section or the key is missing (or the
    file cannot be read: a remembered choice is never worth failing over)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    values = raw.get(section)
    return values.get(key) if isinstance(values, dict) else None


def _render(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else json.dumps(value)


def remember(path: Path, section: str, key: str, value: bool | int | str) -> None:
    """Set `key = value` in `[section]`; raises OSError or ValueError if it cannot."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines()
    line = f"{key} = {_render(value)}"
    start = next((n for n, old in enumerate(lines) if old.strip() == f"[{section}]"), None)
    if start is None:
        lines += ([""] if lines else []) + [f"[{section}]", line]
    else:
        end = next((n for n in range(start + 1, len(lines))
                    if lines[n].lstrip().startswith("[")), len(lines))
        setting = re.compile(rf"^\s*{re.escape(key)}\s*=")
        found = next((n for n in range(start + 1, end) if setting.match(lines[n])), None)
        if found is not None:
            lines[found] = line
        else:
            last = max([start] + [n for n in range(start + 1, end) if lines[n].strip()])
            lines.insert(last + 1, line)
    new_text = "\n".join(lines) + "\n"
    try:
        parsed = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} could not be updated safely: {exc}") from None
    if parsed.get(section, {}).get(key) != value:
        raise ValueError(f"{path} could not be updated safely (section [{section}])")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
