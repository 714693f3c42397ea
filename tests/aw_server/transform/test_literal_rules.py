"""Rules that are plain alternatives of literals skip the regex engine: same answers,
one value at a time (`test`) or many at once (`scan`)."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from aw_server.transform.classify import compile_rule, search
from aw_server.transform.literal_rules import TextBatch, literal_parts

# Letters whose case folding differs between regex and str.lower (Kelvin sign, long s,
# sharp s, dotted and dotless i), plain ASCII, and the separator `scan` joins with.
ALPHABET = "aAkKKsSſßéÉiIİı x-:\x00"
PARTS = st.text(ALPHABET, max_size=4)


def expected(source: str, ignore_case: bool, text: str) -> bool:
    flags = regex.IGNORECASE if ignore_case else 0
    return regex.compile(source, flags).search(text) is not None


@settings(max_examples=500, deadline=None)
@given(st.lists(PARTS, min_size=1, max_size=3), st.lists(st.text(ALPHABET, max_size=12),
                                                         max_size=8), st.booleans())
def test_literals_answer_as_the_regex_search(
    parts: list[str], texts: list[str], ignore_case: bool
) -> None:
    source = "|".join(parts)
    pattern = regex.compile(source, regex.IGNORECASE if ignore_case else 0)
    literals = literal_parts(source, ignore_case, lambda text: search(pattern, text))
    if literals is None:
        assert ignore_case and not source.isascii()  # left to the regex
        return
    answers = [expected(source, ignore_case, text) for text in texts]
    assert [literals.test(text) for text in texts] == answers
    assert literals.scan(TextBatch(texts)) == [i for i, hit in enumerate(answers) if hit]


def test_patterns_with_regex_syntax_are_left_to_the_regex() -> None:
    for source in ["a.b", "^a", "a$", "a*", "a+", "a?", "a{2}", "[ab]", "(a)", "a\\d"]:
        assert literal_parts(source, False, lambda text: False) is None


def test_literal_rules_still_match_like_the_regex() -> None:
    rule = compile_rule({"type": "regex", "regex": "GitHub|Stack Overflow", "ignore_case": True})
    assert rule.literals is not None
    assert rule.match({"app": "firefox", "title": "github - PR"})
    assert rule.match({"title": "Ünïcode STACK OVERFLOW"})  # non-ASCII: through the regex
    assert not rule.match({"title": "gitlab"})
    assert rule.matching(TextBatch(["x", "a GITHUB b", "é stack overflow", "git hub"])) == [1, 2]
