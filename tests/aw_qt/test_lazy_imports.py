"""The tray's idle process keeps no code it does not use until later: import and export
are loaded on their first use, not by starting the tray and its embedded server, and
macOS's plist support only on macOS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the embedded server keeps of `aw_server.transfer` while idle: the upload job table
# (empty) and, on a first start, the search for an ActivityWatch database to offer.
IDLE_TRANSFER_MODULES = {"aw_server.transfer", "aw_server.transfer.upload_jobs",
                         "aw_server.transfer.finding"}

TRAY_START = """
import json, sys, urllib.request
import aw_qt.__main__, aw_qt.qt.app
from aw_qt.server import ServerMode, start_server

handle = start_server(testing=True, port=int(sys.argv[1]))
assert handle.mode is ServerMode.EMBEDDED, handle.problem
try:
    with urllib.request.urlopen(handle.url + "/api/0/info", timeout=30) as answer:
        assert answer.status == 200
    print(json.dumps({"transfer": sorted(m for m in sys.modules
                                         if m.startswith("aw_server.transfer")),
                      "plistlib": "plistlib" in sys.modules,
                      "gnome": sorted(m for m in ("aw_qt.desktop.gnome_extension",
                                                  "watchers.dbus") if m in sys.modules),
                      "pool": sorted(m for m in ("multiprocessing", "ctypes")
                                     if m in sys.modules)}))
finally:
    handle.server.stop()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_started_tray_has_not_loaded_import_or_export(tmp_path: Path) -> None:
    env = {**os.environ, "AW_BASE_DIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", TRAY_START, str(free_port())],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = set(answer["transfer"])
    assert "aw_server.transfer.upload_jobs" in loaded  # the check sees the server's modules
    assert loaded <= IDLE_TRANSFER_MODULES, sorted(loaded - IDLE_TRANSFER_MODULES)
    # macOS's login item format, read and written only there.
    assert answer["plistlib"] is (sys.platform == "darwin")
    # GNOME's extension installer (with D-Bus): only once a watcher reports it missing.
    assert answer["gnome"] == []
    # The query worker's process machinery: only with the first query.
    assert answer["pool"] == []
