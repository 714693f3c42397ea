"""categorize and tag: label events by regex rules (aw-core `aw_transform/classify.py`).

A month of window events is ~1M events times ~20 rules; matching each event against each
rule is what made ActivityWatch's month view time out (aw-server-rust#629). Events
repeat the same (app, title) pairs over and over, so each distinct set of string values
is matched once per call and the answer reused.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from aw_server.models import Event
from aw_server.transform.deadline import CHECK_EVERY, NO_DEADLINE, Deadline
from aw_server.transform.literal_rules import Literals, TextBatch, literal_parts

UNCATEGORIZED: list[str] = ["Uncategorized"]


class RuleError(ValueError):
    """A rule dict that cannot be used; the message is meant for the query author."""


# A single search gets at most this long. The `regex` package (unlike `re`) can stop a
# catastrophically backtracking pattern mid-search, and avoids many such cases outright;
# a rule like "(x+x+)+y" hangs `re` for minutes on a 30-character title.
MATCH_TIMEOUT_S = 1.0
RegexError = regex.error


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str, ignore_case: bool = False) -> regex.Pattern[str]:
    """Compiled once per process: the webui sends the same category rules every query.

    Raises `TimeoutError` from a search that exceeds MATCH_TIMEOUT_S (see `search`)."""
    flags = regex.IGNORECASE if ignore_case else 0
    return regex.compile(pattern, flags)


def search(pattern: regex.Pattern[str], text: str) -> bool:
    return pattern.search(text, timeout=MATCH_TIMEOUT_S) is not None


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule. `pattern` None never matches (empty regex or type "none").

    `priority` (from the rule's `priority`, else `weight`) ranks a category above the
    default rank of 10 per path element; None means the default."""

    pattern: regex.Pattern[str] | None
    select_keys: tuple[str, ...] | None = None
    priority: int | None = None
    # The same answers as the pattern, faster, when it is only literal alternatives.
    literals: Literals | None = None

    def matches_text(self, text: str) -> bool:
        if self.literals is not None:
            return self.literals.test(text)
        return self.pattern is not None and search(self.pattern, text)

    def matching(self, batch: TextBatch) -> list[int]:
        """Indices of the batch's texts the rule matches (in one pass if literal)."""
        if self.pattern is None:
            return []
        if self.literals is not None:
            return self.literals.scan(batch)
        pattern = self.pattern
        return [i for i, text in enumerate(batch.texts) if search(pattern, text)]

    def match(self, data: dict[str, Any]) -> bool:
        """True if any selected string value (all values when none selected) matches."""
        pattern = self.pattern
        if pattern is None:
            return False
        if self.select_keys:
            values = [data.get(key) for key in self.select_keys]
        else:
            values = list(data.values())
        return any(isinstance(v, str) and self.matches_text(v) for v in values)


def _priority(spec: dict[str, Any]) -> int | None:
    """aw-core 0.5.18's optional rank: `priority`, else `weight`; an integer, not a bool."""
    for name in ("priority", "weight"):
        if name in spec:
            value = spec[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise RuleError(f"'{name}' must be an integer")
            return value
    return None


def compile_rule(spec: Any) -> Rule:
    """Build a `Rule` from a rule dict (`type`, `regex`, `ignore_case`, `select_keys`,
    optional `priority` or `weight`).

    Like aw-core, an empty or missing regex gives a rule that never matches (an empty
    pattern would match everything). `{"type": "none"}` never matches either (as in
    aw-server-rust); other types are treated as regex rules, as aw-core ignores `type`.
    """
    if not isinstance(spec, dict):
        raise RuleError(f"a rule must be a dict, got {type(spec).__name__}")
    select = spec.get("select_keys")
    if select is not None and (
        not isinstance(select, list) or not all(isinstance(k, str) for k in select)
    ):
        raise RuleError("'select_keys' must be a list of strings")
    select_keys = tuple(select) if select else None
    priority = _priority(spec)
    if spec.get("type") == "none":
        return Rule(None, select_keys, priority)
    source = spec.get("regex")
    if source is not None and not isinstance(source, str):
        raise RuleError("'regex' must be a string")
    if not source:
        return Rule(None, select_keys, priority)
    ignore_case = bool(spec.get("ignore_case", False))
    try:
        pattern = compile_regex(source, ignore_case)
    except RegexError as exc:
        raise RuleError(f"invalid regex {source!r}: {exc}") from None
    literals = literal_parts(source, ignore_case, functools.partial(search, pattern))
    return Rule(pattern, select_keys, priority, literals)


def content_key(data: dict[str, Any]) -> tuple[bool, Any]:
    """(exact, key): a hashable stand-in for `data`. When some value is unhashable (a
    list or dict) the key keeps only the string values, which is all a rule can match,
    and `exact` is False: the key then identifies the match result but not the data."""
    try:
        key = tuple(data.items())
        hash(key)
        return True, key
    except TypeError:
        return False, tuple((k, v) for k, v in data.items() if isinstance(v, str))


class _Matcher:
    """Matches data dicts against a rule list, remembering every answer for this call.

    Three levels of memo, cheapest first: the identity of the data dict (events that
    share a dict, as transforms and interning storage produce), the dict's contents, and
    each distinct string value's bitmask of matching rules (apps repeat far more often
    than whole (app, title) pairs).
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.selecting = [(i, r.select_keys) for i, r in enumerate(self.rules) if r.select_keys]
        # Rules looking at every value can be answered from per-value masks alone.
        self.all_values_mask = sum(
            1 << i for i, r in enumerate(self.rules) if not r.select_keys
        )
        self.tests = [r.matches_text if r.pattern is not None else None for r in rules]
        # Rules sharing select_keys, answered together by the columnar labelling.
        by_keys: dict[tuple[str, ...], int] = {}
        for i, keys in self.selecting:
            by_keys[keys] = by_keys.get(keys, 0) | 1 << i
        self.selecting_by_keys = list(by_keys.items())
        self.value_masks: dict[str, int] = {}
        self.by_content: dict[Any, int] = {}

    def prime(self, values: Iterable[str], deadline: Deadline = NO_DEADLINE) -> None:
        """Work out the masks of many values at once: a rule made of literals checks
        them all in one pass (see literal_rules.py)."""
        todo = [v for v in dict.fromkeys(values) if v not in self.value_masks]
        masks = [0] * len(todo)
        batch = TextBatch(todo)
        for bit, rule in enumerate(self.rules):
            deadline.check()
            for index in rule.matching(batch):
                masks[index] |= 1 << bit
        self.value_masks.update(zip(todo, masks, strict=True))

    def _value_mask(self, value: str) -> int:
        mask = self.value_masks.get(value)
        if mask is None:
            mask = 0
            bit = 1
            for test in self.tests:
                if test is not None and test(value):
                    mask |= bit
                bit <<= 1
            self.value_masks[value] = mask
        return mask

    def mask(self, data: dict[str, Any], key: Any) -> int:
        """Bitmask of the rules matching `data`; `key` is `content_key(data)`."""
        mask = self.by_content.get(key)
        if mask is None:
            mask = self.by_content[key] = self.data_mask(data)
        return mask

    def data_mask(self, data: dict[str, Any]) -> int:
        """Bitmask of the rules matching `data`, not remembered."""
        value_masks = self.value_masks
        by_key = {}
        mask = 0
        for key, value in data.items():
            if isinstance(value, str):
                value_mask = value_masks.get(value)
                if value_mask is None:
                    value_mask = self._value_mask(value)
                by_key[key] = value_mask
                mask |= value_mask
        mask &= self.all_values_mask
        for i, keys in self.selecting:
            bit = 1 << i
            for key in keys:
                if by_key.get(key, 0) & bit:
                    mask |= bit
                    break
        return mask


def _highest_ranked(ranked: Sequence[tuple[Any, int | None]]) -> Any:
    """The matching category with the highest rank; on equal rank the later rule wins.

    A rule's rank is its `priority` if it has one, else 10 per path element, so without
    priorities the deepest path wins (aw-core 0.5.18 `_pick_category`). Empty paths are
    skipped."""
    best: Any = UNCATEGORIZED
    best_rank: int | None = None
    for category, priority in ranked:
        if not category:
            continue
        rank = priority if priority is not None else 10 * len(category)
        if best_rank is None or rank >= best_rank:
            best, best_rank = category, rank
    return best


class Labeller:
    """The new data of each distinct data dict under categorize/tag: a copy with `field`
    set to choose(labels of the matching rules), computed once per distinct content.

    Dicts with equal content get one shared new dict, so later passes (merge) see equal
    data as one object even when storage handed out a copy per event."""

    def __init__(
        self, classes: Sequence[tuple[Any, Rule]], field: str, choose: Any, label_of: Any
    ) -> None:
        self.labels = [label_of(label, rule) for label, rule in classes]
        self.matcher = _Matcher([rule for _, rule in classes])
        self.field = field
        self.choose = choose
        self.by_mask: dict[int, Any] = {}
        self.by_content: dict[Any, dict[str, Any]] = {}

    def label_all(
        self, datas: Sequence[dict[str, Any]], deadline: Deadline = NO_DEADLINE
    ) -> list[dict[str, Any]]:
        """The new dict of each of `datas` (distinct dicts, as an event table holds):
        their string values are matched in bulk first. The columnar engine has a
        faster form of this (`label_columns.py`); this one serves any number of rules."""
        self.matcher.prime(
            (v for data in datas for v in data.values() if isinstance(v, str)), deadline
        )
        result = []
        for count, data in enumerate(datas):
            if not count & 1023:
                deadline.check()
            result.append(self._relabelled(data, self.matcher.data_mask(data)))
        return result

    def label_of(self, mask: int) -> Any:
        """The field's value for the rules in `mask`; one object per mask, shared."""
        value = self.by_mask.get(mask)
        if value is None:
            value = self.by_mask[mask] = self.choose(
                [label for i, label in enumerate(self.labels) if mask >> i & 1]
            )
        return value

    def _relabelled(self, data: dict[str, Any], mask: int) -> dict[str, Any]:
        new_data = dict(data)
        new_data[self.field] = self.label_of(mask)
        return new_data

    def __call__(self, data: dict[str, Any]) -> dict[str, Any]:
        exact, key = content_key(data)
        new_data = self.by_content.get(key) if exact else None
        if new_data is None:
            new_data = self._relabelled(data, self.matcher.mask(data, key))
            if exact:
                self.by_content[key] = new_data
        return new_data


def _label(events: list[Event], labeller: Labeller, deadline: Deadline) -> list[Event]:
    """Shared loop of categorize/tag: new events carrying the labelled data."""
    # id(data) is the cheap first lookup; ids stay valid because `events` keeps every
    # dict alive.
    by_identity: dict[int, dict[str, Any]] = {}
    result: list[Event] = []
    append = result.append
    for chunk_start in range(0, len(events), CHECK_EVERY):
        deadline.check()
        for event in events[chunk_start : chunk_start + CHECK_EVERY]:
            data = event.data
            new_data = by_identity.get(id(data))
            if new_data is None:
                new_data = by_identity[id(data)] = labeller(data)
            append(Event(event.timestamp_us, event.duration_us, new_data, event.id))
    return result


def category_labeller(classes: Sequence[tuple[Any, Rule]]) -> Labeller:
    return Labeller(classes, "$category", _highest_ranked,
                    lambda label, rule: (label, rule.priority))


def tag_labeller(classes: Sequence[tuple[Any, Rule]]) -> Labeller:
    return Labeller(classes, "$tags", list, lambda label, rule: label)


def categorize(
    events: list[Event],
    classes: Sequence[tuple[Any, Rule]],
    deadline: Deadline = NO_DEADLINE,
) -> list[Event]:
    """Set `data["$category"]` to the highest-ranked matching category path (the deepest,
    unless rules carry a `priority`), else ["Uncategorized"].

    Returns new events; the input events and their data are not modified. Events that
    shared a data dict share the new one.
    """
    return _label(events, category_labeller(classes), deadline)


def tag(
    events: list[Event],
    classes: Sequence[tuple[Any, Rule]],
    deadline: Deadline = NO_DEADLINE,
) -> list[Event]:
    """Set `data["$tags"]` to every matching tag, in rule order (duplicates kept, as aw-core)."""
    return _label(events, tag_labeller(classes), deadline)
