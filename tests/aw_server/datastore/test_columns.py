"""The columnar read's numbering of data ids, in order of first appearance."""

from __future__ import annotations

import numpy as np
import pytest

from aw_server.datastore.columns import _number_by_appearance


@pytest.mark.parametrize("spread", [5, 40, 10**9])  # dense ids, and sparse (the fallback)
def test_data_ids_are_numbered_in_order_of_first_appearance(spread: int) -> None:
    rng = np.random.default_rng(spread)
    data_ids = rng.integers(1, spread + 1, size=500).astype(np.int64)
    order: list[int] = list(dict.fromkeys(data_ids.tolist()))
    wanted, position = _number_by_appearance(data_ids)
    assert wanted == order
    assert position.tolist() == [order.index(i) for i in data_ids.tolist()]
