"""docs/query.md must describe every registered function (STYLE item 14)."""

from __future__ import annotations

from pathlib import Path

from aw_server.query import describe_functions

DOC = Path(__file__).resolve().parents[3] / "docs" / "query.md"


def test_every_query_function_has_a_section_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [f["name"] for f in describe_functions() if f"**`{f['name']}(" not in text]
    assert missing == []


def test_docs_list_the_divergences_section() -> None:
    assert "## Differences from ActivityWatch" in DOC.read_text(encoding="utf-8")
