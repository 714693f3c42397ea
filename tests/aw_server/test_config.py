"""Server settings read from aw-server.toml: the sync schedule (the rest is covered
where each setting is used)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aw_server.config import ServerConfig, load_config


def _config(tmp_path: Path, text: str) -> ServerConfig:
    path = tmp_path / "aw-server.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, testing=True)


def test_sync_runs_every_five_minutes_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    assert _config(tmp_path, "").sync_interval_s == 300.0
    assert _config(tmp_path, "[server-testing]\nsync_interval = 0\n").sync_interval_s == 0.0
    assert _config(tmp_path, "[server-testing]\nsync_interval = 90.5\n").sync_interval_s == 90.5
    # The normal profile's section does not apply to the testing server.
    assert _config(tmp_path, "[server]\nsync_interval = 0\n").sync_interval_s == 300.0


@pytest.mark.parametrize("value", ["-1", "true", '"off"'])
def test_a_bad_sync_interval_is_refused_with_its_name(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="sync_interval"):
        _config(tmp_path, f"[server-testing]\nsync_interval = {value}\n")


def test_the_default_file_documents_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "aw-server.toml"
    load_config(path)  # writes the commented defaults on first run
    assert "#sync_interval = 300" in path.read_text(encoding="utf-8")
