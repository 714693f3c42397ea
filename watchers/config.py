"""Where the watchers keep files, and how they read ActivityWatch's config files.

Paths follow ActivityWatch: `<platform dir>/activitywatch/<module>/`, so a user's
existing `aw-watcher-afk.toml` and `aw-client.toml` keep applying. Like the server
(`aw_server/dirs.py`), `AW_BASE_DIR` redirects everything to
`$AW_BASE_DIR/{config,data,log}/<module>`; tests use it or the XDG variables, never
patching. The watchers do not import the server package: they run as separate
processes and must start without it.

A watcher runs all day, so this module keeps its imports small. On Linux the three
folders are the XDG base directories, read from the environment as the XDG spec says
(what platformdirs answers there too): platformdirs' Unix module imports `tempfile`,
and with it `shutil`, `random`, `bz2` and `lzma`, 1.1 MB for three environment
lookups. Other platforms ask platformdirs. Paths are plain strings joined with
`os.path`: `pathlib` would bring `urllib.parse` and `ipaddress` (0.6 MB) along.

Config files are created on first run with every key commented out (ActivityWatch's
`load_config_toml` convention), so the file documents the defaults and an upgrade
that changes a default still reaches users who never edited that key.
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

APP = "activitywatch"
CLIENT_MODULE = "aw-client"
DEFAULT_PORT = 5600
TESTING_PORT = 5666


def _dir(kind: str, module: str) -> str:
    base = os.environ.get("AW_BASE_DIR")
    if base:
        return os.path.join(base, kind, module)
    if kind == "config":
        return os.path.join(user_dir("config"), module)
    if kind == "data":
        return os.path.join(user_dir("data"), module)
    # ActivityWatch logs to <cache>/activitywatch/log/<module>/ on Linux.
    return os.path.join(user_dir("cache"), "log", module)


# XDG base directory variable and default under $HOME, per kind of folder.
_XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "data": ("XDG_DATA_HOME", ".local/share"),
        "cache": ("XDG_CACHE_HOME", ".cache")}


def user_dir(kind: str) -> str:
    """`platformdirs.user_<kind>_dir("activitywatch")` for "config", "data" or "cache"."""
    if not sys.platform.startswith("linux"):
        import platformdirs

        lookup = {"config": platformdirs.user_config_dir, "data": platformdirs.user_data_dir,
                  "cache": platformdirs.user_cache_dir}
        return lookup[kind](APP)
    variable, default = _XDG[kind]
    # The spec: a relative path in one of these variables is invalid and ignored.
    base = os.environ.get(variable, "")
    if not os.path.isabs(base):
        base = f"{_home().rstrip('/')}/{default}"
    return os.path.join(base, APP)


def _home() -> str:
    """$HOME, or the password database's entry when it is unset or relative."""
    home = os.environ.get("HOME", "")
    if os.path.isabs(home):
        return home
    import pwd

    return pwd.getpwuid(os.getuid()).pw_dir


def config_dir(module: str) -> str:
    return _dir("config", module)


def data_dir(module: str) -> str:
    return _dir("data", module)


def log_dir(module: str) -> str:
    return _dir("log", module)


def commented(default_toml: str) -> str:
    """Comment out every key but keep table headers, as ActivityWatch writes new files."""
    lines = []
    for line in default_toml.strip().splitlines():
        stripped = line.strip()
        commented_out = stripped and not stripped.startswith(("[", "#"))
        lines.append("#" + line if commented_out else line)
    return "\n".join(lines) + "\n"


def load_toml_config(module: str, default_toml: str, filename: str | None = None) -> dict[str, Any]:
    """Defaults merged with the user's file (per table), writing the file if absent.

    A broken user file is reported and ignored rather than fatal: a watcher that
    refuses to start over a typo records nothing, which is worse than defaults.
    """
    defaults = tomllib.loads(default_toml)
    path = os.path.join(config_dir(module), filename or f"{module}.toml")
    user: dict[str, Any] = {}
    if os.path.exists(path):
        try:
            user = tomllib.loads(_read_text(path))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            logger.error("Ignoring unreadable config file %s: %s", path, exc)
    else:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as out:
                out.write(commented(default_toml))
        except OSError as exc:
            logger.warning("Could not write default config %s: %s", path, exc)
    merged: dict[str, Any] = {}
    for table in set(defaults) | set(user):
        base = defaults.get(table, {})
        over = user.get(table, {})
        if isinstance(base, dict) and isinstance(over, dict):
            merged[table] = {**base, **over}
        else:
            merged[table] = over if table in user else base
    return merged


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as source:
        return source.read()


def section(config: dict[str, Any], module: str, testing: bool) -> dict[str, Any]:
    """`[<module>-testing]` in testing mode when the defaults define it, else `[<module>]`.

    aw-watcher-afk has a testing section and aw-watcher-window does not; both behave
    as in ActivityWatch.
    """
    name = f"{module}-testing"
    if testing and name in config:
        return dict(config[name])
    return dict(config.get(module, {}))


CLIENT_DEFAULTS = """
[server]
hostname = "127.0.0.1"
port = "5600"

[client]
commit_interval = 10

[server-testing]
hostname = "127.0.0.1"
port = "5666"

[client-testing]
commit_interval = 5
"""


@dataclass(frozen=True)
class ClientSettings:
    """What the client needs to reach the server; CLI flags override the config file."""

    host: str
    port: int
    commit_interval: float
    api_key: str | None
    testing: bool

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def load_client_settings(
    testing: bool, host: str | None = None, port: int | None = None
) -> ClientSettings:
    """aw-client's config file (`aw-client/aw-client.toml`), then the CLI overrides."""
    config = load_toml_config(CLIENT_MODULE, CLIENT_DEFAULTS)
    server = config.get("server-testing" if testing else "server", {})
    client = config.get("client-testing" if testing else "client", {})
    final_host = host or str(server.get("hostname", "127.0.0.1"))
    final_port = port or int(server.get("port", TESTING_PORT if testing else DEFAULT_PORT))
    return ClientSettings(
        host=final_host,
        port=final_port,
        commit_interval=float(client.get("commit_interval", 5 if testing else 10)),
        api_key=find_api_key(final_host, final_port, server),
        testing=testing,
    )


_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def find_api_key(host: str, port: int, server_section: dict[str, Any]) -> str | None:
    """The API key for `Authorization: Bearer`, or None when auth is off.

    In order: `AW_API_KEY`; `api_key` in aw-client.toml's server table (ours, for a
    remote server); and, only for a local server, the `[auth] api_key` of the
    aw-server-rust config whose port matches (what aw-client does, #585).
    """
    key = os.environ.get("AW_API_KEY") or server_section.get("api_key")
    if key:
        return str(key)
    if host not in _LOCAL_HOSTS:
        return None
    for filename, default_port in (("config.toml", DEFAULT_PORT),
                                   ("config-testing.toml", TESTING_PORT)):
        path = os.path.join(config_dir("aw-server-rust"), filename)
        if not os.path.isfile(path):
            continue
        try:
            data = tomllib.loads(_read_text(path))
            if int(data.get("port", default_port)) != port:
                continue
            found = data.get("auth", {}).get("api_key")
        except (OSError, ValueError, AttributeError, tomllib.TOMLDecodeError) as exc:
            logger.warning("Could not read %s for an API key: %s", path, exc)
            continue
        if found:
            return str(found)
    return None
