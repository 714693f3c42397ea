"""The `aw-server` command: ActivityWatch's flags, then config file, then defaults."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from types import FrameType

from aw_server import __version__
from aw_server.config import ServerConfig, is_loopback_host, load_config
from aw_server.datastore.core import DatabaseCorrupt
from aw_server.datastore.schema import SchemaTooNew
from aw_server.logsetup import setup_logging

logger = logging.getLogger("aw_server")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aw-server",
        description="A local time-tracking server speaking ActivityWatch's REST API. "
        "Also: `aw-server import PATH` and `aw-server export ...` (see their --help).",
    )
    parser.add_argument("--version", action="version", version=f"aw-server {__version__}")
    parser.add_argument("--testing", action="store_true",
                        help="testing mode: port 5666 and separate database, config and logs")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 5600, testing 5666)")
    parser.add_argument("--dbpath", type=Path, help="database file to use")
    parser.add_argument("--config", "-c", type=Path, help="config file (default: aw-server.toml "
                        "in the platform config folder)")
    parser.add_argument("--cors-origins", help="extra allowed origins, comma-separated")
    parser.add_argument("--webpath", type=Path, help="serve this folder as the web UI")
    parser.add_argument("--custom-static", help="extra static folders: name=/path,name2=/path2")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow listening on a non-loopback address (exposes your data)")
    parser.add_argument("--storage", help=argparse.SUPPRESS)  # aw-server's flag; one backend here
    parser.add_argument("--no-log-file", action="store_true", help="log to stderr only")
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    config = load_config(args.config, testing=args.testing)
    changes: dict[str, object] = {"verbose": args.verbose, "allow_remote": args.allow_remote}
    if args.host:
        changes["host"] = "127.0.0.1" if args.host == "localhost" else args.host
    if args.port is not None:
        changes["port"] = args.port
    if args.dbpath:
        changes["dbpath"] = args.dbpath
    if args.cors_origins:
        extra = tuple(o.strip() for o in args.cors_origins.split(",") if o.strip())
        changes["cors_origins"] = config.cors_origins + extra
    if args.webpath:
        if not (args.webpath / "index.html").is_file():
            raise ValueError(f"--webpath {args.webpath} has no index.html")
        changes["webpath"] = args.webpath
    if args.custom_static:
        static = dict(config.custom_static)
        for pair in args.custom_static.split(","):
            name, sep, path = pair.partition("=")
            if not sep or not name or not path:
                raise ValueError(f"--custom-static expects name=/path, got {pair!r}")
            static[name.strip()] = Path(path.strip())
        changes["custom_static"] = static
    return replace(config, **changes)  # type: ignore[arg-type]


def serve(config: ServerConfig) -> int:
    from aw_server.serve import Server

    if not is_loopback_host(config.host) and not config.allow_remote:
        logger.error("refusing to listen on %s: other machines could read your data. "
                     "Use --allow-remote (and set an api_key) if you really mean it.", config.host)
        return 2
    if not is_loopback_host(config.host):
        logger.warning("listening on non-loopback address %s: anyone who can reach it can read "
                       "and change your data%s", config.host,
                       "" if config.api_key else " (no api_key set!)")
    try:
        server = Server(config)
    except (DatabaseCorrupt, SchemaTooNew) as exc:
        logger.error("%s", exc)
        return 3
    except OSError as exc:
        logger.error("cannot listen on %s:%s: %s. Is another server already running there?",
                     config.host, config.port, exc)
        return 4

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received signal %d", signum)
        import threading

        threading.Thread(target=server.stop, name="aw-server-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.serve_forever()
    server.stop()
    return 0


def command_in(argv: list[str]) -> tuple[str | None, list[str]]:
    """The command `argv` runs (`import`, `export` or None for the server) and the
    server-only flags given with it. The first argument that is neither a flag nor a
    flag's value names the command, so flags may come before it, as users type them
    (`aw-server --testing import X`). Help and version are left out here: a command's
    own help must not be answered by the server's."""
    from aw_server.commands import COMMANDS, SHARED_FLAGS

    parser = build_parser()
    args, rest = parser.parse_known_args(
        [arg for arg in argv if arg not in ("-h", "--help", "--version")])
    command = next((arg for arg in rest if not arg.startswith("-")), None)
    if command not in COMMANDS:
        return None, []
    server_only = [f"--{dest.replace('_', '-')}" for dest, value in vars(args).items()
                   if dest not in SHARED_FLAGS and value != parser.get_default(dest)]
    return command, server_only


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, server_only = command_in(argv)
    if command is not None:
        from aw_server.commands import main as run_command

        if server_only:
            print(f"aw-server {command} does not take {', '.join(server_only)} (server "
                  "flags); it takes --testing, --dbpath, --config and --verbose, before or "
                  "after its name", file=sys.stderr)
            return 2
        return run_command(argv)
    args = build_parser().parse_args(argv)
    setup_logging("aw-server", testing=args.testing, verbose=args.verbose,
                  to_file=not args.no_log_file)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
