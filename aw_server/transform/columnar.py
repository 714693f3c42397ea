"""The transforms of the query hot path over `EventTable`s, with the list versions' exact
results (same rows, order, spans, ids and data; property tests compare the two).

flood and filter_period_intersect return None for input their vectorised form does not
model (rare: overlapping events with equal data, self-overlapping filter lists); the
caller then runs the list version, which handles everything.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import regex
from numpy.typing import NDArray

from aw_server.event_table import NO_ID, EventTable, Indices, Int64s
from aw_server.models import freeze
from aw_server.transform import label_columns
from aw_server.transform.classify import Labeller, search
from aw_server.transform.deadline import NO_DEADLINE, Deadline
from aw_server.transform.filters import keyval_matcher
from aw_server.transform.flood import NEGATIVE_GAP_TRIM_US, without_overlaps
from aw_server.transform.merge import MISSING

# flood's chain of dependent steps is resolved by rounds over the events whose start a
# previous step moved; real data settles in a handful. Beyond this, the list version.
MAX_FLOOD_ROUNDS = 256
_MIN_INT64 = np.iinfo(np.int64).min


def _rows_with_spans(table: EventTable, rows: Indices | NDArray[np.bool_], start: Int64s,
                     duration: Int64s) -> EventTable:
    """`table.take(rows).with_spans(start, duration)` without first gathering the two
    columns that are replaced: for a year of events that is 80 MB of fresh memory."""
    return EventTable(start, duration, table.ids[rows], table.data_index[rows], table.datas)


def _by_start(table: EventTable) -> EventTable:
    """Sorted by start, ties in input order (as Python's stable sort)."""
    start = table.start
    if len(start) < 2 or bool(np.all(start[:-1] <= start[1:])):
        return table
    if bool(np.all(start[:-1] > start[1:])):
        # Newest first without ties, as storage hands buckets out: reversing is that
        # sort, and a view costs no copy.
        return table.take(slice(None, None, -1))
    return table.take(np.argsort(start, kind="stable"))


def _by_start_then_duration(table: EventTable) -> EventTable:
    """flood's order: by start, then duration, ties in input order (as Python's stable
    sort on both keys)."""
    start = table.start
    if len(start) < 2:
        return table
    if bool(np.all(start[:-1] > start[1:])):
        return table.take(slice(None, None, -1))  # newest first without ties
    ahead = start[:-1] < start[1:]
    tied = start[:-1] == start[1:]
    if bool(np.all(ahead | (tied & (table.duration[:-1] <= table.duration[1:])))):
        return table
    return table.take(np.lexsort((table.duration, start)))


def _without_hidden_instants(table: EventTable) -> EventTable:
    """flood's rule for zero-duration events lying inside an earlier event: dropped.
    A dropped one ends where it starts, before the running maximum of ends, so taking
    the maximum over every earlier event (dropped or not) gives the same cover."""
    duration = table.duration
    if not len(duration) or bool(np.all(duration != 0)):
        return table
    covered = np.empty_like(table.start)
    covered[0] = _MIN_INT64
    np.maximum.accumulate(table.end[:-1], out=covered[1:])
    hidden = (duration == 0) & (table.start < covered)
    return table.take(~hidden) if hidden.any() else table


def flood(
    table: EventTable, pulsetime_us: int, deadline: Deadline = NO_DEADLINE
) -> EventTable | None:
    """`transform.flood` over columns, or None (see the module docstring).

    The list version walks neighbour pairs carrying the earlier event's start as the
    step before left it; its end is always its input end. A step between different
    data moves the later start to the gap's midpoint, whatever it carries. A step
    between equal data either lets the earlier event take the later one's span (the
    later is left empty at its end) or the later take the earlier's (from the earlier's
    carried start): which, depends on the carried start. Those are found by rounds: all
    equal-data steps at once assuming the starts known so far, then again only after
    the events whose start changed, until none changes. That fixed point is the
    sequential walk's unique result.
    """
    table = _without_hidden_instants(_by_start_then_duration(table))
    n = len(table)
    if n < 2:
        return table.take(table.duration > 0)
    start = table.start
    end = table.end
    classes = table.row_data_classes()
    same = classes[:-1] == classes[1:]
    gap = start[1:] - end[:-1]
    if bool(np.any(same & (gap < 0))):
        return None  # overlapping equal-data events: merged by rules not modelled here
    active = np.where(same, gap > 0, (gap > -NEGATIVE_GAP_TRIM_US) & (gap != 0))
    active &= gap <= pulsetime_us
    split = active & ~same
    merging = active & same
    # half_of_gap, rounded as the list's, in place (a month is 8 MB an array).
    midpoint = gap >> 1
    gap &= midpoint
    gap &= 1
    midpoint += gap
    midpoint += end[:-1]
    del gap
    carried = start.copy()
    np.copyto(carried[1:], midpoint, where=split)
    # The earlier event takes the later one's span iff its carried duration (end -
    # carried start) is at least the later one's, i.e. iff its start <= threshold.
    threshold = end[:-1] - table.duration[1:]
    pending: Indices = np.flatnonzero(merging)
    rounds = 0
    while pending.size:
        rounds += 1
        if rounds > MAX_FLOOD_ROUNDS:
            return None
        deadline.check()
        nxt = pending + 1
        own = carried[pending]
        moved = np.where(own <= threshold[pending], end[nxt], own)
        changed = moved != carried[nxt]
        pending = nxt[changed]
        carried[pending] = moved[changed]
        pending = pending[pending < n - 1]
        pending = pending[merging[pending]]
    own = carried[:-1]
    takes_next = merging & (own <= threshold)
    final_end = end.copy()
    np.copyto(final_end[:-1], midpoint, where=split)
    np.copyto(final_end[:-1], end[1:], where=takes_next)
    np.copyto(final_end[:-1], own, where=merging & ~takes_next)  # emptied
    duration = final_end
    duration -= carried
    # Freed before the result is built: each is 8 MB (or 1) for a month of events.
    del classes, same, active, split, merging, midpoint, threshold, own, takes_next, end
    keep = duration > 0
    kept = _rows_with_spans(table, keep, carried[keep], duration[keep])
    return _without_overlaps(kept, kept.start, kept.duration)


def _without_overlaps(table: EventTable, start: Int64s, duration: Int64s) -> EventTable:
    """The list version's last pass. It never reaches back over a point that every
    earlier row ends by and every later row starts from, so rows between two such
    points are passed through it together, and a row alone between two keeps its span.
    (The walk's starts are not always in order, hence the minimum of later starts.)"""
    if not bool(np.any(start[:-1] + duration[:-1] > start[1:])):
        return table.with_spans(start, duration)  # no overlap at all: the usual case
    end = start + duration
    later_start = np.minimum.accumulate(start[::-1])[::-1]
    joins = later_start[1:] < np.maximum.accumulate(end)[:-1]
    involved = np.zeros(len(start), dtype=np.bool_)
    involved[:-1] |= joins
    involved[1:] |= joins
    rows = np.flatnonzero(involved)
    row_class = table.row_data_classes().tolist()
    kept = without_overlaps(
        zip(rows.tolist(), start[rows].tolist(), end[rows].tolist(), strict=True),
        lambda first, second: row_class[first] == row_class[second])
    keep = ~involved
    keep[[entry.item for entry in kept]] = True
    start = start.copy()
    end = end.copy()
    for entry in kept:
        start[entry.item] = entry.start
        end[entry.item] = entry.end
    return _rows_with_spans(table, keep, start[keep], (end - start)[keep])


def filter_period_intersect(
    events: EventTable, filters: EventTable, deadline: Deadline = NO_DEADLINE
) -> EventTable | None:
    """`transform.filter_period_intersect` over columns, or None.

    For inputs that are sorted, free of self-overlap and without zero durations (flood
    output, watcher buckets) the list version's two-pointer sweep yields every pair of
    overlapping events, ordered by event then filter: here found by binary search.
    """
    ev = _by_start(events)
    fl = _by_start(filters)
    ends = []
    for table in (ev, fl):
        end = table.end  # once: a year of events is a 40 MB column
        if bool(np.any(table.duration <= 0)) or bool(np.any(end[:-1] > table.start[1:])):
            return None
        ends.append(end)
    deadline.check()
    ev_start, ev_end = ev.start, ends[0]
    fl_start, fl_end = fl.start, ends[1]
    first = np.searchsorted(fl_end, ev_start, side="right")
    counts = np.searchsorted(fl_start, ev_end, side="left")
    counts -= first
    # Rows are numbered among the events that meet a filter at all (about half of a
    # year's window events; most meet exactly one), not among all events: in the
    # worker every event-sized array is fresh memory, and this halves how much of it a
    # year's summary touches here (0.66 -> 0.28 s CPU for 5M events).
    hit = np.flatnonzero(counts > 0)
    per = counts[hit]
    del counts
    if len(per) and int(per.max()) > 1:
        rows = np.repeat(hit, per)
        group_start = np.cumsum(per)
        group_start -= per
        filter_rows = np.arange(len(rows))
        filter_rows -= np.repeat(group_start, per)
        filter_rows += first[rows]
    else:
        rows = hit
        filter_rows = first[hit]
    del first, hit, per
    piece_start = ev_start[rows]
    np.maximum(piece_start, fl_start[filter_rows], out=piece_start)
    piece_end = ev_end[rows]
    np.minimum(piece_end, fl_end[filter_rows], out=piece_end)
    piece_end -= piece_start
    return _rows_with_spans(ev, rows, piece_start, piece_end)


def _per_used_data(table: EventTable, verdict: Any) -> Any:
    """verdict(data) for every distinct data dict some row uses, as a per-slot array."""
    answers = np.zeros(len(table.datas), dtype=np.bool_)
    for slot in table.used_data().tolist():
        answers[slot] = verdict(table.datas[slot])
    return answers


def filter_keyvals(
    table: EventTable, key: str, vals: list[Any], exclude: bool = False
) -> EventTable:
    matches = _per_used_data(table, keyval_matcher(key, vals))
    return table.take(matches[table.data_index] != exclude)


def filter_keyvals_regex(
    table: EventTable, key: str, pattern: regex.Pattern[str], deadline: Deadline = NO_DEADLINE
) -> EventTable:
    def matches(data: dict[str, Any]) -> bool:
        deadline.check()
        value = data.get(key)
        return isinstance(value, str) and search(pattern, value)

    return table.take(_per_used_data(table, matches)[table.data_index])


def label(table: EventTable, labeller: Labeller, deadline: Deadline = NO_DEADLINE) -> EventTable:
    """categorize/tag: each used data dict labelled once; unused ones are dropped."""
    used = table.used_data()
    new_slot = np.zeros(len(table.datas), dtype=np.intp)
    new_slot[used] = np.arange(len(used))
    datas = label_columns.label_all(labeller, [table.datas[slot] for slot in used.tolist()],
                                    deadline)
    return table.with_data(new_slot[table.data_index], datas)


def merge_events_by_keys(
    table: EventTable, keys: list[str], deadline: Deadline = NO_DEADLINE
) -> EventTable:
    """`transform.merge_events_by_keys`: one row per group, in order of the groups' first
    events, without ids."""
    if not keys:
        return table
    used, first_row_of_used = table.first_rows()
    datas = table.datas
    group_of_used, groups = _groups([datas[slot] for slot in used.tolist()], keys)
    deadline.check()
    group_of_slot = np.zeros(len(datas), dtype=np.intp)
    group_of_slot[used] = group_of_used
    totals = _sums(group_of_slot[table.data_index], table.duration, groups)
    # A group's first row is the earliest first row of its slots.
    first_row = np.full(groups, len(table), dtype=np.intp)
    np.minimum.at(first_row, group_of_used, first_row_of_used)
    order = np.argsort(first_row, kind="stable")
    first_row = first_row[order]
    first_slots = table.data_index[first_row]
    # The groups' dicts are made in slot order, not row order: the source dicts are
    # then read roughly in the order they lie in memory, where row order jumps around
    # (half the time for a month's ~45k titles). Rows point at theirs by data_index.
    by_slot = np.argsort(first_slots)
    data_index = np.empty(len(first_row), dtype=np.intp)
    data_index[by_slot] = np.arange(len(first_row), dtype=np.intp)
    return EventTable(
        table.start[first_row],
        totals[order],
        np.full(len(first_row), NO_ID, dtype=np.int64),
        data_index,
        # merge.merged_data, inlined: the title merge makes one per distinct title.
        [{key: data[key] for key in keys if key in data}
         for data in map(datas.__getitem__, first_slots[by_slot].tolist())],
    )


def _groups(datas: list[dict[str, Any]], keys: list[str]) -> tuple[Indices, int]:
    """(each dict's group number, number of groups) by the values of `keys`, as
    GroupKeys groups them: each dict's tuple of values, numbered by one dict."""
    rows: list[Any]
    try:
        # Every dict has every key, as usual: the tuples in one C loop.
        rows = list(map(operator.itemgetter(*keys), datas))
    except KeyError:
        rows = _rows([[data.get(key, MISSING) for data in datas] for key in keys])
    try:
        distinct = dict.fromkeys(rows)
    except TypeError:  # list or dict values ("$category" paths): frozen once per object
        columns = [[data.get(key, MISSING) for data in datas] for key in keys]
        rows = _rows([_frozen(column) for column in columns])
        distinct = dict.fromkeys(rows)
    number = dict(zip(distinct, range(len(distinct)), strict=True))
    group = np.fromiter(map(number.__getitem__, rows), dtype=np.intp, count=len(rows))
    return group, len(number)


def _rows(columns: list[list[Any]]) -> list[Any]:
    """Per dict, its value (one key) or tuple of values, as `operator.itemgetter`."""
    return columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))


def _frozen(values: list[Any]) -> list[Any]:
    """`values` with list and dict values frozen (hashable). Values are shared between
    dicts (categorize gives every dict of a category one path list), so each distinct
    object is frozen once, and the rest are C loops over the objects' ids."""
    ids = list(map(id, values))
    by_id = dict(zip(ids, values, strict=True))
    frozen = {key: freeze(value) if isinstance(value, list | dict) else value
              for key, value in by_id.items()}
    return list(map(frozen.__getitem__, ids))


def _sums(groups: Indices, durations: Int64s, count: int) -> Int64s:
    """Exact integer sums of durations per group."""
    if len(durations) and int(durations.max()) * len(durations) >= 2**53:
        sums = np.zeros(count, dtype=np.int64)
        np.add.at(sums, groups, durations)
        return sums
    # Float sums are exact below 2**53; bincount is much faster than add.at.
    return np.bincount(groups, weights=durations, minlength=count).astype(np.int64)


def sum_durations(table: EventTable) -> int:
    if not len(table):
        return 0
    if int(table.duration.max()) * len(table) < 2**62:
        return int(table.duration.sum())
    return sum(table.duration.tolist())


def sort_by_timestamp(table: EventTable) -> EventTable:
    return table.take(np.argsort(table.start, kind="stable"))


def sort_by_duration(table: EventTable) -> EventTable:
    """Longest first, ties in input order (as sorted(..., reverse=True))."""
    return table.take(np.argsort(-table.duration, kind="stable"))

