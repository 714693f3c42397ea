"""SettingsStore: any JSON value round-trips."""

from __future__ import annotations

import pytest

from aw_server.datastore.store import Datastore


# -- settings --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [False, 0, "", None, [], {"nested": [1, "ü"]}, 1.5])
def test_settings_store_every_json_value(store: Datastore, value: object) -> None:
    store.settings.set("k", value)
    assert store.settings.get("k") == value
    assert store.settings.all() == {"k": value}
