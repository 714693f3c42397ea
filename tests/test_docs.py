"""The docs stand alone and stay true to the tree.

A newcomer starts at docs/architecture.md; a path it names that no longer exists sends
them looking for nothing, so every path is checked. And nothing in the repository may
send a reader to a file that only existed beside it (planning notes, design drafts, style
guides of the team): what they said belongs in the repository's own words.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_FOLDERS = ("aw_server", "aw_qt", "watchers", "tests", "bench", "scripts", "resources",
               "docs", "packaging")
FOLDER_CHOICE = "|".join(TOP_FOLDERS)
PATH_IN_TEXT = re.compile(rf"`((?:{FOLDER_CHOICE})/[A-Za-z0-9_./-]*)`")
OUTSIDE_FILE = re.compile(
    r"(?<![\w/.])(?:notes|design|reference)/[\w.-]+\.md|\b(?:DESIGN|STYLE)\.md|\.\./shared/")


def tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.js", "*.toml", "*.spec",
                          "*.txt", "*.html", "*.cfg", "*.sh"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.splitlines()
            if line and line != "tests/test_docs.py"]


def test_every_path_named_in_the_architecture_page_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = sorted(set(PATH_IN_TEXT.findall(text)))
    assert len(named) > 10, "the page should name the places it describes"
    missing = [path for path in named if not (ROOT / path.rstrip("/")).exists()]
    assert missing == []


def test_nothing_points_at_files_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in tracked_text_files() if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8",
                                                     errors="replace").splitlines(), 1)
        if OUTSIDE_FILE.search(line)
    ]
    assert offenders == []
