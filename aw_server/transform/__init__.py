"""Pure transforms on `list[Event]`, the building blocks of query functions.

Contract shared by every module here: inputs are never modified. Transforms that change
only an event's span return new `Event`s sharing the original `data` dict; those that
change data build a new dict. That sharing is what keeps multi-pass queries cheap, and
it is safe because nothing mutates `data` in place.
"""

from aw_server.transform.classify import (
    RegexError,
    Rule,
    RuleError,
    categorize,
    category_labeller,
    compile_regex,
    compile_rule,
    tag,
    tag_labeller,
)
from aw_server.transform.deadline import NO_DEADLINE, Deadline
from aw_server.transform.filters import filter_keyvals, filter_keyvals_regex, limit_events
from aw_server.transform.flood import DEFAULT_PULSETIME_US, flood
from aw_server.transform.merge import chunk_events_by_key, merge_events_by_keys
from aw_server.transform.periods import filter_period_intersect, period_union, union_no_overlap
from aw_server.transform.sort import concat, sort_by_duration, sort_by_timestamp, sum_durations
from aw_server.transform.strings import simplify_window_titles, split_url_events
from aw_server.transform.subwatcher import CONFLICT_RULES, merge_subwatcher_fields

__all__ = [
    "CONFLICT_RULES",
    "DEFAULT_PULSETIME_US",
    "NO_DEADLINE",
    "Deadline",
    "RegexError",
    "Rule",
    "RuleError",
    "categorize",
    "category_labeller",
    "chunk_events_by_key",
    "compile_regex",
    "compile_rule",
    "concat",
    "filter_keyvals",
    "filter_keyvals_regex",
    "filter_period_intersect",
    "flood",
    "limit_events",
    "merge_events_by_keys",
    "merge_subwatcher_fields",
    "period_union",
    "simplify_window_titles",
    "sort_by_duration",
    "sort_by_timestamp",
    "split_url_events",
    "sum_durations",
    "tag",
    "tag_labeller",
    "union_no_overlap",
]
