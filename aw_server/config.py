"""Server configuration: defaults, the TOML file, then command-line flags, in that order.

The file is `aw-server.toml` in ActivityWatch's own config folder with the same
`[server]` / `[server-testing]` sections aw-server (Python) reads, so an existing file
keeps working. Nothing is read or written at import time: `load_config` is explicit.
"""

from __future__ import annotations

import ipaddress
import logging
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aw_server import dirs
from aw_server.models import DEFAULT_MAX_EVENT_BYTES, MAX_EVENT_LIMIT

logger = logging.getLogger(__name__)

MODULE = "aw-server"
DEFAULT_PORT = 5600
TESTING_PORT = 5666
# The sync listener's own defaults differ between the two profiles, so a normal and a
# --testing server on one machine do not reach for the same port.
DEFAULT_SYNC_PORT = 5601
TESTING_SYNC_PORT = 5667
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")

DEFAULT_CONFIG_TEXT = """\
# Configuration of aw-server (an ActivityWatch-compatible server).
# Every setting is shown with its default, commented out. Remove the leading '#' to change one.
# Command-line flags override this file.

[server]
# Address to listen on. Anything other than a loopback address also needs --allow-remote.
#host = "127.0.0.1"
#port = 5600
# Extra origins allowed to call the API from a browser (a list, or a comma-separated string).
#cors_origins = []
# How much a crash may cost: "normal" keeps every acknowledged write through a crash of
# this process; "full" also through power loss or an OS crash (one fsync per write).
#durability = "normal"
# Largest request body accepted, in MiB (imports of big exports need a lot).
#max_body_mb = 1024
# Largest event accepted (its data as JSON), in KiB, at every entry: API, heartbeats,
# imports and sync. At most 4096; a bigger event could not be synced.
#max_event_kb = 1024
# Port of the device-sync listener when the pairing dialog asks for none (testing: 5667).
# If it is taken, a free port is chosen and remembered.
#sync_port = 5601
# Seconds between scheduled syncs with each paired device; 0 = only when asked
# ("Sync now"). After a failure the wait grows by itself (docs/sync.md §12).
#sync_interval = 300

# Extra static folders served at /pages/<name>/ (ActivityWatch's custom_static).
#[server.custom_static]
#my-page = "/path/to/folder"

[server-testing]
#host = "127.0.0.1"
#port = 5666
#sync_port = 5667

[auth]
# When set, every /api request except /api/0/info must carry
# "Authorization: Bearer <api_key>".
#api_key = ""

[backup]
# Folder for scheduled JSON backups (aw-backup-YYYY-MM-DD.json); empty = no backups.
#folder = ""
# "daily" or "weekly".
#every = "daily"
# How many backups to keep; older ones are deleted.
#keep = 7
"""


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs to run; frozen so a running server can't drift."""

    testing: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    dbpath: Path | None = None
    cors_origins: tuple[str, ...] = ()
    custom_static: dict[str, Path] = field(default_factory=dict)
    webpath: Path | None = None
    api_key: str = ""
    durability: str = "normal"
    max_body_bytes: int = 1024 * 1024 * 1024
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    sync_port: int | None = None  # None: DEFAULT_SYNC_PORT or TESTING_SYNC_PORT
    sync_interval_s: float = 300.0  # between scheduled syncs per peer; 0: only "Sync now"
    allow_remote: bool = False
    verbose: bool = False
    threads: int = 8
    query_worker: bool = True  # queries in a worker process (see query/pool.py)
    hostname: str | None = None
    backup_folder: Path | None = None
    backup_every: str = "daily"
    backup_keep: int = 7

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def default_sync_port(self) -> int:
        if self.sync_port is not None:
            return self.sync_port
        return TESTING_SYNC_PORT if self.testing else DEFAULT_SYNC_PORT

    def database_path(self) -> Path:
        if self.dbpath is not None:
            return self.dbpath
        name = "aw-server-testing.sqlite" if self.testing else "aw-server.sqlite"
        return dirs.data_dir(MODULE) / name


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_config_path() -> Path:
    return dirs.config_dir(MODULE) / "aw-server.toml"


def ensure_config_file(path: Path) -> None:
    """Write the commented defaults on first run, as ActivityWatch does."""
    if path.exists():
        return
    try:
        dirs.ensure(path.parent)
        path.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
    except OSError as exc:
        logger.warning("could not write default config %s: %s", path, exc)


def _as_origins(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(o.strip() for o in value.split(",") if o.strip())
    if isinstance(value, list):
        return tuple(str(o).strip() for o in value if str(o).strip())
    raise ValueError("cors_origins must be a list or a comma-separated string")


def _backup_changes(section: Any, path: Path) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise ValueError(f"config file {path}: [backup] must be a table")
    changes: dict[str, Any] = {}
    if section.get("folder"):
        changes["backup_folder"] = Path(str(section["folder"])).expanduser()
    if "every" in section:
        every = str(section["every"])
        if every not in ("daily", "weekly"):
            raise ValueError(f"config file {path}: [backup] every must be 'daily' or 'weekly'")
        changes["backup_every"] = every
    if "keep" in section:
        keep = section["keep"]
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"config file {path}: [backup] keep must be a whole number >= 1")
        changes["backup_keep"] = keep
    return changes


def load_config(path: Path | None = None, *, testing: bool = False) -> ServerConfig:
    """Defaults overlaid by the TOML file's `[server]` (or `[server-testing]`) section."""
    config = ServerConfig(testing=testing, port=TESTING_PORT if testing else DEFAULT_PORT)
    path = path or default_config_path()
    ensure_config_file(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read config file {path}: {exc}; fix or delete it") from exc
    section = raw.get("server-testing" if testing else "server", {})
    if not isinstance(section, dict):
        raise ValueError(f"config file {path}: [server] must be a table")
    changes: dict[str, Any] = {}
    if "host" in section:
        host = str(section["host"])
        # aw-server's own default file says "localhost"; treat it as the loopback address.
        changes["host"] = "127.0.0.1" if host == "localhost" else host
    if "port" in section:
        changes["port"] = int(section["port"])
    if "cors_origins" in section:
        changes["cors_origins"] = _as_origins(section["cors_origins"])
    if "durability" in section:
        durability = str(section["durability"])
        if durability not in ("normal", "full"):
            raise ValueError(f"config file {path}: durability must be 'normal' or 'full'")
        changes["durability"] = durability
    if "max_body_mb" in section:
        changes["max_body_bytes"] = int(section["max_body_mb"]) * 1024 * 1024
    if "max_event_kb" in section:
        kib = section["max_event_kb"]
        if isinstance(kib, bool) or not isinstance(kib, int) \
                or not 1 <= kib <= MAX_EVENT_LIMIT // 1024:
            raise ValueError(f"config file {path}: max_event_kb must be a whole number from 1 "
                             f"to {MAX_EVENT_LIMIT // 1024}")
        changes["max_event_bytes"] = kib * 1024
    if "sync_port" in section:
        port = section["sync_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"config file {path}: sync_port must be a port number")
        changes["sync_port"] = port
    if "sync_interval" in section:
        interval = section["sync_interval"]
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
            raise ValueError(f"config file {path}: sync_interval must be a number of seconds "
                             "(0: no scheduled sync)")
        changes["sync_interval_s"] = float(interval)
    static = section.get("custom_static", {})
    if isinstance(static, dict):
        changes["custom_static"] = {str(k): Path(str(v)) for k, v in static.items()}
    changes.update(_backup_changes(raw.get("backup", {}), path))
    auth = raw.get("auth", {})
    if isinstance(auth, dict) and auth.get("api_key"):
        changes["api_key"] = str(auth["api_key"])
    return replace(config, **changes)
