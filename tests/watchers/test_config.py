"""Config files: commented defaults written once, user values merged, testing sections, API key."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from watchers.afk.watcher import DEFAULT_CONFIG as AFK_DEFAULTS
from watchers.config import (
    commented,
    config_dir,
    load_client_settings,
    load_toml_config,
    section,
    user_dir,
)
from watchers.window.watcher import DEFAULT_CONFIG as WINDOW_DEFAULTS


def test_first_run_writes_commented_defaults(aw_dirs: Path) -> None:
    config = load_toml_config("aw-watcher-afk", AFK_DEFAULTS)
    path = aw_dirs / "config" / "aw-watcher-afk" / "aw-watcher-afk.toml"
    text = path.read_text()
    assert "[aw-watcher-afk]\n#timeout = 180\n#poll_time = 5\n" in text
    assert "[aw-watcher-afk-testing]\n#timeout = 20\n#poll_time = 1\n" in text
    assert section(config, "aw-watcher-afk", testing=False) == {"timeout": 180, "poll_time": 5}
    assert section(config, "aw-watcher-afk", testing=True) == {"timeout": 20, "poll_time": 1}


def test_user_values_override_per_key(aw_dirs: Path) -> None:
    path = Path(config_dir("aw-watcher-window")) / "aw-watcher-window.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[aw-watcher-window]\nexclude_titles = ["bank"]\npoll_time = 2.0\n')
    config = section(load_toml_config("aw-watcher-window", WINDOW_DEFAULTS),
                     "aw-watcher-window", testing=True)  # no testing section: same table
    assert config["exclude_titles"] == ["bank"]
    assert config["poll_time"] == 2.0
    assert config["exclude_title"] is False
    assert path.read_text().startswith("[aw-watcher-window]\nexclude_titles")  # not rewritten


def test_broken_file_falls_back_to_defaults(aw_dirs: Path, caplog: pytest.LogCaptureFixture
                                            ) -> None:
    path = Path(config_dir("aw-watcher-afk")) / "aw-watcher-afk.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[aw-watcher-afk\ntimeout = ")
    config = load_toml_config("aw-watcher-afk", AFK_DEFAULTS)
    assert config["aw-watcher-afk"]["timeout"] == 180
    assert "Ignoring unreadable config file" in caplog.text


def test_commented_keeps_headers() -> None:
    assert commented("[a]\nx = 1\n# note\n\n[b]\ny = 2") == "[a]\n#x = 1\n# note\n\n[b]\n#y = 2\n"


def test_client_settings_defaults_and_testing(aw_dirs: Path) -> None:
    normal = load_client_settings(testing=False)
    assert (normal.host, normal.port, normal.commit_interval) == ("127.0.0.1", 5600, 10.0)
    testing = load_client_settings(testing=True)
    assert (testing.port, testing.commit_interval) == (5666, 5.0)
    assert (aw_dirs / "config" / "aw-client" / "aw-client.toml").exists()
    flags = load_client_settings(testing=True, host="localhost", port=1234)
    assert flags.base_url == "http://localhost:1234"


def test_client_config_file_is_honoured(aw_dirs: Path) -> None:
    path = Path(config_dir("aw-client")) / "aw-client.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[server]\nhostname = "10.0.0.2"\nport = "5601"\napi_key = "k1"\n'
                    "[client]\ncommit_interval = 3\n")
    settings = load_client_settings(testing=False)
    assert (settings.host, settings.port, settings.commit_interval, settings.api_key) == (
        "10.0.0.2", 5601, 3.0, "k1")


def test_api_key_from_aw_server_rust_config_for_matching_local_port(aw_dirs: Path,
                                                                    monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    rust = Path(config_dir("aw-server-rust"))
    rust.mkdir(parents=True)
    (rust / "config.toml").write_text('port = 5600\n[auth]\napi_key = "main-key"\n')
    (rust / "config-testing.toml").write_text('port = 5666\n[auth]\napi_key = "test-key"\n')
    assert load_client_settings(testing=False).api_key == "main-key"
    assert load_client_settings(testing=True).api_key == "test-key"
    assert load_client_settings(testing=True, port=7000).api_key is None
    assert load_client_settings(testing=False, host="192.168.1.2").api_key is None
    monkeypatch.setenv("AW_API_KEY", "env-key")
    assert load_client_settings(testing=False).api_key == "env-key"


@pytest.mark.parametrize("environment", [
    {},
    {"XDG_CONFIG_HOME": "/x/conf", "XDG_DATA_HOME": "/x/data/", "XDG_CACHE_HOME": "/x/cache"},
    {"XDG_CONFIG_HOME": "relative/conf", "XDG_DATA_HOME": "", "XDG_CACHE_HOME": " "},
    {"HOME": "/home/someone/"},
    {"HOME": "relative-home"},
], ids=["defaults", "absolute", "invalid", "home-slash", "home-relative"])
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG lookup is Linux's")
def test_linux_folders_are_the_ones_platformdirs_and_the_server_use(
        environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    expected = {"config": platformdirs.user_config_dir("activitywatch"),
                "data": platformdirs.user_data_dir("activitywatch"),
                "cache": platformdirs.user_cache_dir("activitywatch")}
    assert {kind: user_dir(kind) for kind in expected} == expected
