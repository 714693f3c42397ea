"""categorize/tag over an event table's distinct data dicts, a key at a time.

`Labeller.label_all` works out each dict's rule mask in a Python loop over its items
(~45k dicts for a month of window events). Here each key's column of values is mapped
to rule masks once per distinct value, and the columns are combined with numpy; the
label is then chosen once per distinct mask. The answers are `label_all`'s, dict for
dict (tests compare the two). Masks are one uint64 per dict, so longer rule lists use
`label_all`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aw_server.transform.classify import Labeller
from aw_server.transform.deadline import NO_DEADLINE, Deadline

MAX_COLUMN_RULES = 64

Masks = NDArray[np.uint64]


def label_all(
    labeller: Labeller, datas: Sequence[dict[str, Any]], deadline: Deadline = NO_DEADLINE
) -> list[dict[str, Any]]:
    """`labeller.label_all(datas)`, computed column-wise when the rules fit a mask."""
    masks = data_masks(labeller, datas, deadline)
    if masks is None:
        return labeller.label_all(datas, deadline)
    distinct, inverse = np.unique(masks, return_inverse=True)
    deadline.check()
    labels = [labeller.label_of(mask) for mask in distinct.tolist()]
    field = labeller.field
    return [{**data, field: labels[i]}
            for data, i in zip(datas, inverse.reshape(-1).tolist(), strict=True)]


def data_masks(
    labeller: Labeller, datas: Sequence[dict[str, Any]], deadline: Deadline = NO_DEADLINE
) -> Masks | None:
    """Per dict, the mask of the rules it matches (as `data_mask`), or None when there
    are more rules than bits."""
    matcher = labeller.matcher
    if len(matcher.rules) > MAX_COLUMN_RULES:
        return None
    columns: dict[str, list[Any]] = {}
    distinct: dict[str, dict[Any, None] | None] = {}
    for key in dict.fromkeys(chain.from_iterable(datas)):
        deadline.check()
        values = columns[key] = [data.get(key) for data in datas]
        try:
            distinct[key] = dict.fromkeys(values)
        except TypeError:  # a list or dict value: go through every value instead
            distinct[key] = None
    # Every distinct string at once: literal rules then scan them in one pass each.
    matcher.prime(
        (value for key, values in columns.items()
         for value in (distinct[key] or values) if isinstance(value, str)),
        deadline,
    )
    key_masks = {key: _value_masks(matcher.value_masks, values, distinct[key], len(datas))
                 for key, values in columns.items()}
    deadline.check()
    combined = np.zeros(len(datas), dtype=np.uint64)
    for column in key_masks.values():
        combined |= column
    combined &= np.uint64(matcher.all_values_mask)
    for keys, bits in matcher.selecting_by_keys:
        selected = np.zeros(len(datas), dtype=np.uint64)
        for key in keys:
            key_mask = key_masks.get(key)
            if key_mask is not None:
                selected |= key_mask
        selected &= np.uint64(bits)
        combined |= selected
    return combined


def _value_masks(
    value_masks: dict[str, int], values: list[Any], distinct: dict[Any, None] | None,
    count: int,
) -> Masks:
    """The mask of each value (0 for a value that is not a string); with the distinct
    values known, one dict lookup per value does it."""
    if distinct is not None:
        code = {v: value_masks[v] if isinstance(v, str) else 0 for v in distinct}
        return np.fromiter(map(code.__getitem__, values), dtype=np.uint64, count=count)
    return np.fromiter((value_masks[v] if isinstance(v, str) else 0 for v in values),
                       dtype=np.uint64, count=count)
