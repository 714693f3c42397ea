"""`python -m aw_server` is the `aw-server` command."""

from aw_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
