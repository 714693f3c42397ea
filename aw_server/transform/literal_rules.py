"""Rules that are only literal alternatives ("Slack|Discord|Zoom", as most category rules
are), matched without the regex engine and with the same answers.

A search with a timeout costs ~3 us even for such a pattern, and a month of titles times
a dozen rules is a few hundred thousand searches. A substring test is ~10x cheaper, and
`scan` answers for thousands of values in one pass over their joined text.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate, compress, count

# Outside these, a character in a pattern matches itself (regex's default V0 syntax).
_SPECIAL = frozenset("\\.^$*+?{}[]()")
# Joins values for `scan`; never inside a part (checked), so no match spans two values.
_SEPARATOR = "\x00"


def _not_ascii(text: str) -> bool:
    return not text.isascii()


@dataclass(frozen=True, slots=True)
class Literals:
    """The alternatives of a pattern; `ignore_case` folds ASCII only. Values that are not
    ASCII then go to `fallback` (the compiled regex), whose Unicode case folding (the
    Kelvin sign matches "k") `str.lower` does not copy."""

    parts: tuple[str, ...]
    ignore_case: bool
    fallback: Callable[[str], bool]

    def test(self, text: str) -> bool:
        if "" in self.parts:  # an empty alternative matches everywhere
            return True
        if self.ignore_case:
            if not text.isascii():
                return self.fallback(text)
            text = text.lower()
        return any(part in text for part in self.parts)

    def scan(self, batch: TextBatch) -> list[int]:
        """Indices of the batch's texts `test` accepts, ascending."""
        values = batch.texts
        if "" in self.parts:
            return list(range(len(values)))
        if any(_SEPARATOR in part for part in self.parts):
            return [i for i, value in enumerate(values) if self.test(value)]
        pattern = re.compile("|".join(re.escape(part) for part in self.parts))
        if not self.ignore_case:
            return batch.containing(pattern, folded=False)
        hits = batch.containing(pattern, folded=True)
        foreign = [i for i in batch.foreign() if self.fallback(values[i])]
        return sorted(hits + foreign) if foreign else hits


class TextBatch:
    """Many texts joined once for every rule that scans them: a match never spans two
    texts, and every text holding a part has a match starting inside it (a match that
    hid an occurrence also started in that text)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._joined: dict[bool, tuple[str, list[int], list[int]]] = {}
        self._foreign: list[int] | None = None

    def foreign(self) -> list[int]:
        """Indices of the texts that are not ASCII (left out of the folded text); worked
        out once for every case-insensitive rule."""
        if self._foreign is None:
            self._foreign = list(compress(range(len(self.texts)),
                                          map(_not_ascii, self.texts)))
        return self._foreign

    def _view(self, folded: bool) -> tuple[str, list[int], list[int]]:
        """(joined text, where each text starts in it, which text each one is)."""
        view = self._joined.get(folded)
        if view is None:
            if folded:
                foreign = self.foreign()
                if foreign:
                    indices = list(compress(range(len(self.texts)),
                                            map(str.isascii, self.texts)))
                    texts = [self.texts[i].lower() for i in indices]
                else:
                    indices = list(range(len(self.texts)))
                    texts = list(map(str.lower, self.texts))
            else:
                indices = list(range(len(self.texts)))
                texts = self.texts
            # Each text starts after the lengths of those before it plus one separator
            # each (summed by C loops: a month has ~40k distinct values).
            lengths = accumulate(map(len, texts[:-1]), initial=0)
            starts = list(map(operator.add, lengths, count()))
            view = self._joined[folded] = (_SEPARATOR.join(texts), starts, indices)
        return view

    def containing(self, pattern: re.Pattern[str], *, folded: bool) -> list[int]:
        """Indices of the texts (lower-cased ASCII ones if `folded`) where `pattern`
        matches, ascending."""
        joined, starts, indices = self._view(folded)
        found = {bisect_right(starts, m.start()) - 1 for m in pattern.finditer(joined)}
        return sorted(indices[i] for i in found)


def literal_parts(
    source: str, ignore_case: bool, fallback: Callable[[str], bool]
) -> Literals | None:
    """`Literals` for `source` if it is only literal alternatives, else None."""
    if _SPECIAL.intersection(source):
        return None
    if ignore_case and not source.isascii():
        return None
    parts = tuple(source.split("|"))
    if ignore_case:
        parts = tuple(part.lower() for part in parts)
    return Literals(parts, ignore_case, fallback)
