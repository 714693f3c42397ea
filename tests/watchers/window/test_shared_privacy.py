"""Privacy rules saved in the dashboard (the server's `privacy` setting) hide titles in the
window watcher, together with its own config rules, and survive a server outage."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.conftest import make_server
from watchers.client import Client
from watchers.config import ClientSettings
from watchers.queue import HeartbeatQueue
from watchers.window.backends import WindowInfo
from watchers.window.privacy import EXCLUDED, PrivacyRules
from watchers.window.shared_privacy import SETTING_KEY, SharedPrivacy

BANK = WindowInfo("firefox", "My Bank — statement")
NOTES = WindowInfo("gedit", "notes.txt")
VAULT = WindowInfo("KeePassXC", "passwords.kdbx")


def _client(port: int, tmp_path: Path) -> Client:
    return Client("aw-watcher-window", ClientSettings("127.0.0.1", port, 10.0, None, True),
                  HeartbeatQueue(tmp_path / "queue.sqlite"), hostname="h")


def _shared(client: Client, tmp_path: Path, local: PrivacyRules | None = None) -> SharedPrivacy:
    return SharedPrivacy(local or PrivacyRules(), lambda: client.get_setting(SETTING_KEY),
                         tmp_path / "privacy.json")


def test_dashboard_rules_hide_titles_with_the_local_ones(tmp_path: Path) -> None:
    server = make_server(tmp_path / "server")
    try:
        saved = requests.post(f"{server.url}/api/0/settings/privacy", timeout=10, json={
            "exclude_title": False, "exclude_titles": ["bank"], "exclude_apps": []})
        assert saved.status_code == 200
        shared = _shared(_client(server.port, tmp_path), tmp_path,
                         PrivacyRules.from_config(False, [], ["keepassxc"]))
        assert shared.apply(BANK)["title"] == BANK.title  # not fetched yet
        assert shared.refresh() is True
        assert shared.apply(BANK)["title"] == EXCLUDED
        assert shared.apply(VAULT)["title"] == EXCLUDED  # the local rule still holds
        assert shared.apply(NOTES)["title"] == NOTES.title
        assert shared.refresh() is False  # unchanged
    finally:
        server.stop()


def test_last_rules_seen_apply_while_the_server_is_down(tmp_path: Path) -> None:
    server = make_server(tmp_path / "server")
    port = server.port
    try:
        requests.post(f"{server.url}/api/0/settings/privacy", timeout=10,
                      json={"exclude_titles": ["notes"]}).raise_for_status()
        assert _shared(_client(port, tmp_path), tmp_path).refresh()
    finally:
        server.stop()
    restarted = _shared(_client(port, tmp_path), tmp_path)  # a new watcher process
    assert restarted.refresh() is False  # nobody answers
    assert restarted.apply(NOTES)["title"] == EXCLUDED


def test_a_bad_rule_from_the_server_is_skipped_not_fatal(tmp_path: Path) -> None:
    server = make_server(tmp_path / "server")
    try:
        requests.post(f"{server.url}/api/0/settings/privacy", timeout=10,
                      json={"exclude_titles": ["(unclosed", "bank"],
                            "exclude_apps": "not a list"}).raise_for_status()
        shared = _shared(_client(server.port, tmp_path), tmp_path)
        assert shared.refresh()
        assert shared.apply(BANK)["title"] == EXCLUDED
        assert shared.apply(VAULT)["title"] == VAULT.title
        requests.delete(f"{server.url}/api/0/settings/privacy", timeout=10).raise_for_status()
        assert shared.refresh()  # the user removed the rules: titles show again
        assert shared.apply(BANK)["title"] == BANK.title
    finally:
        server.stop()
