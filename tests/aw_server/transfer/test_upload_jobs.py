"""The import job table: what a stopped server left behind is cleaned when the server
starts, and building the server (or its app) touches no file."""

from __future__ import annotations

from pathlib import Path

import requests

from aw_server.config import ServerConfig
from aw_server.serve import Server


def test_leftover_uploads_go_when_the_server_starts_not_when_it_is_built(
        tmp_path: Path) -> None:
    config = ServerConfig(testing=True, port=0, dbpath=tmp_path / "server.sqlite",
                          hostname="testhost")
    leftover = tmp_path / "server.sqlite.upload-0123456789abcdef-0"
    leftover.write_bytes(b'{"buckets": {}}')
    unrelated = tmp_path / "notes.upload-1"
    unrelated.write_bytes(b"kept")
    server = Server(config)
    try:
        assert leftover.exists()  # construction only constructs
        server.start_in_thread()
        # The start step runs before the first request is accepted.
        assert requests.get(f"{server.url}/api/0/info", timeout=10).ok
        assert not leftover.exists()
        assert unrelated.exists()
    finally:
        server.stop()
