"""Run the real aw-server with test-only parts injected through its constructor.

    python -m tests.support.launch_server --sync-fault before_commit:2 <aw-server flags>

The flags after ours are the `aw-server` command's own, read by its own parser, so the
server is configured exactly as the command would configure it; only the sync service
gets a `FaultPlan` (sync_faults.py), which the product has no way to set.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from aw_server.cli import build_parser, config_from_args
from aw_server.logsetup import setup_logging
from aw_server.serve import Server
from tests.support.sync_faults import FaultPlan

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    ours = argparse.ArgumentParser(add_help=False)
    ours.add_argument("--sync-fault", default="", help="before_commit:K or after_commit:K")
    options, rest = ours.parse_known_args(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(rest)
    setup_logging("aw-server", testing=args.testing, verbose=args.verbose,
                  to_file=not args.no_log_file)
    faults = FaultPlan(options.sync_fault) if options.sync_fault else None
    server = Server(config_from_args(args), sync_faults=faults)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received signal %d", signum)
        threading.Thread(target=server.stop, name="aw-server-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.serve_forever()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
