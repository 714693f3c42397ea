"""Log regression (docs/sync.md §6): a database restored from a backup, or copied, must
not hand out seqs it already used for other rows, so it starts a new change log.

Two signs, and only these: the `<db>.sync-log` record beside the database says more was
handed out than the database holds; or a peer shows a batch of our current log that we
signed with an `up_to` above what we hold (`Summary.tip`). A peer's bare claim, without
our signature, changes nothing: a compromised device could otherwise make us re-send our
whole history to everyone.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from aw_server.datastore.database import keep_private
from aw_server.datastore.store import Datastore
from aw_server.sync import signing
from aw_server.sync.protocol import Summary

logger = logging.getLogger(__name__)


class LogGuard:
    def __init__(self, store: Datastore, signer: signing.Signer,
                 db_path: Path | str | None) -> None:
        self.store = store
        self.signer = signer
        self.sidecar = (Path(str(db_path) + ".sync-log")
                        if db_path and str(db_path) != ":memory:" else None)
        self.handed_out = 0

    def check_claim(self, summary: Summary) -> None:
        """Called with every summary a peer sends: rotate only on proof signed by us."""
        tip = summary.tip
        if tip is None or tip.log_id != self.store.db.log_id:
            return
        if tip.up_to <= self.store.deltas.own_max_seq():
            return
        if not signing.verify(self.signer.key, tip.sig, signing.segment_message(tip)):
            logger.warning("a peer claims to hold more of this database's log than it has, "
                           "without proof; ignored")
            return
        logger.error("a peer holds more of this database's log than the database itself "
                     "(signed by this device): it was restored from a backup. Starting a new "
                     "change log.")
        self.rotate()

    def check_at_start(self, paired: bool) -> None:
        if self.sidecar is None:
            return
        try:
            state = json.loads(self.sidecar.read_text(encoding="utf-8"))
            log_id, handed = str(state["log_id"]), int(state["handed_out"])
        except (OSError, ValueError, KeyError, TypeError):
            if paired:
                logger.warning("sync log record %s is missing; starting a new change log",
                               self.sidecar)
                self.rotate()
            else:
                self.write(0)
            return
        if log_id != self.store.db.log_id or handed > self.store.deltas.own_max_seq():
            logger.error("this database is older than what it already sent to peers (restored "
                         "from a backup or copied): starting a new change log")
            self.rotate()
        else:
            self.handed_out = handed

    def rotate(self) -> None:
        self.store.sync.rotate_log()
        self.write(0)

    def record_handout(self, up_to: int) -> None:
        if up_to > self.handed_out:
            self.write(up_to)

    def write(self, handed: int) -> None:
        self.handed_out = handed
        if self.sidecar is None:
            return
        tmp = self.sidecar.with_suffix(".tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"log_id": self.store.db.log_id, "handed_out": handed}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.sidecar)
        keep_private(self.sidecar, 0o600)
