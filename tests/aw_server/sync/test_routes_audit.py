"""Route audit over both apps' URL maps (docs/sync.md §8): every main-app rule is behind
the Host check, and the sync listener holds nothing but `/sync/v1/*`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from aw_server.config import ServerConfig
from aw_server.http.app import api_routes
from aw_server.serve import Server
from aw_server.sync.peer_api import RULES


@pytest.fixture
def built(tmp_path: Path) -> Iterator[Server]:
    server = Server(ServerConfig(testing=True, port=0, dbpath=tmp_path / "s.sqlite",
                                 hostname="h"))
    yield server
    server.stop()


def concrete(rule: str) -> str:
    return "/".join("x" if part.startswith("<") else part for part in rule.split("/"))


def test_every_main_rule_is_host_checked(built: Server) -> None:
    app: Flask = built.app
    client = app.test_client()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert any(r.rule.startswith("/api/0/sync/") for r in rules)
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(concrete(rule.rule), method=method,
                                   headers={"Host": "evil.test"})
            assert response.status_code == 400, (method, rule.rule)


def test_sync_routes_are_registered_on_the_main_api(built: Server) -> None:
    ours = {r.rule for r in api_routes() if r.rule.startswith("/api/0/sync")}
    assert ours == {"/api/0/sync/pairing", "/api/0/sync/pair", "/api/0/sync/peers",
                    "/api/0/sync/now", "/api/0/sync/peers/<string:device_id>",
                    "/api/0/sync/discover", "/api/0/sync/listen", "/api/0/sync/devices",
                    "/api/0/sync/skipped"}
    mapped = {r.rule for r in built.app.url_map.iter_rules()}
    assert ours <= mapped


def test_the_sync_app_holds_only_sync_v1(built: Server) -> None:
    app = built.sync.peer_app
    rules = list(app.url_map.iter_rules())
    assert sorted(r.rule for r in rules) == sorted(RULES)
    for rule in rules:
        assert rule.rule.startswith("/sync/v1/")
        assert (rule.methods or set()) - {"HEAD", "OPTIONS"} == {"POST"}
    assert app.static_folder is None
    client = app.test_client()
    for rule in rules:
        response = client.post(rule.rule, headers={"Origin": "http://evil.test"})
        assert response.status_code == 403
        assert "Access-Control-Allow-Origin" not in response.headers
