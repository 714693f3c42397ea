"""The `aw-server` command's arguments: the server's (ActivityWatch's flags, then config
file, then defaults) and those of its `import` and `export` commands, which run in
`aw_server.transfer.commands`."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from aw_server import __version__
from aw_server.config import ServerConfig, is_loopback_host, load_config
from aw_server.datastore.database import DatabaseCorrupt
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


COMMANDS = ("import", "export")
# The server's flags that the commands take too (see `_common`); the others are refused.
SHARED_FLAGS = ("testing", "dbpath", "config", "verbose")


def _common(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    """The flags every command takes, before its name (`aw-server --testing import X`, as
    users type them) or after it. After it they default to SUPPRESS, so an absent flag
    does not overwrite one given before the name."""
    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument("--testing", action="store_true", default=default(False),
                        help="use the testing database")
    parser.add_argument("--dbpath", type=Path, default=default(None), help="database file to use")
    parser.add_argument("--config", "-c", type=Path, default=default(None), help="config file")
    parser.add_argument("--verbose", "-v", action="store_true", default=default(False),
                        help="debug logging")


def build_command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aw-server")
    _common(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import an ActivityWatch database or JSON export",
                         description="Import aw-server's peewee-sqlite.v2.db, aw-server-rust's "
                         "sqlite.db or an ActivityWatch JSON export. The source is only read. "
                         "Running it again after an interruption continues where it stopped; "
                         "events already present are never added twice.")
    imp.add_argument("path", type=Path, help="the file to import")
    _common(imp, after_command=True)
    exp = sub.add_parser("export", help="export events as JSON or CSV")
    exp.add_argument("--since", help="start of the time range (date or ISO 8601; "
                     "without an offset: local time)")
    exp.add_argument("--until", help="end of the time range")
    exp.add_argument("--bucket", action="append", dest="buckets", metavar="ID",
                     help="only this bucket (repeatable)")
    exp.add_argument("--format", choices=("json", "csv"), default="json")
    exp.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    _common(exp, after_command=True)
    return parser


def run_command(argv: list[str]) -> int:
    """`aw-server import ...` or `aw-server export ...`; the work is imported only here,
    so the server's start does not pay for it."""
    from aw_server.transfer.commands import run_export, run_import

    args = build_command_parser().parse_args(argv)
    setup_logging("aw-server", testing=args.testing, verbose=args.verbose, to_file=False)
    try:
        config = load_config(args.config, testing=args.testing)
        if args.dbpath:
            config = replace(config, dbpath=args.dbpath)
        if args.command == "import":
            return run_import(config, args.path)
        return run_export(config, since_text=args.since, until_text=args.until,
                          buckets=args.buckets, fmt=args.format, output=args.output)
    except (DatabaseCorrupt, SchemaTooNew, ValueError) as exc:
        logger.error("%s", exc)
        return 3


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
    from aw_server.serve import DatabaseInUse, Server, serve_until_signalled

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
    except (DatabaseCorrupt, SchemaTooNew, DatabaseInUse) as exc:
        logger.error("%s", exc)
        return 3
    except OSError as exc:
        logger.error("cannot listen on %s:%s: %s. Is another server already running there?",
                     config.host, config.port, exc)
        return 4

    return serve_until_signalled(server)


def command_in(argv: list[str]) -> tuple[str | None, list[str]]:
    """The command `argv` runs (`import`, `export` or None for the server) and the
    server-only flags given with it. The first argument that is neither a flag nor a
    flag's value names the command, so flags may come before it, as users type them
    (`aw-server --testing import X`). Help and version are left out here: a command's
    own help must not be answered by the server's."""
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
