"""Crash test: SIGKILL our server mid-write and check that no acknowledged write is lost.

Run ``.venv/bin/python bench/killtest.py [--rounds 5] [--seed N]``.

A time tracker runs for months and is killed by logouts, OOM killers and power buttons; a
user forgives a lost second of tracking but not a corrupted database or a hole after the
server said "200 OK".  So each round this script:

1. starts ``python -m aw_server --testing`` on the same database file,
2. checks ``PRAGMA integrity_check`` and that **every write acknowledged so far** is
   present (a heartbeat ack: its event id exists with the same start and data and at least
   the acknowledged duration; an insert ack: all its events exist),
3. streams heartbeats (merging and inserting) and event inserts from a client thread that
   records each 200 response,
4. SIGKILLs the server at a random moment (seeded, printed for reproduction).

After the last round it restarts once more, verifies, stops the server cleanly and checks
integrity again, then prints ``acknowledged N, found N, lost 0``.  Exit status 1 on any
loss, corruption or unexpected HTTP status.  All loops are bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import OurServer, ServerStartError, start_our_server

HB_BUCKET = "killtest-heartbeats"
INS_BUCKET = "killtest-inserts"
PULSETIME = 2.0
REQUEST_TIMEOUT_S = 10.0
MAX_OPS_PER_ROUND = 100_000
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _parse_ts(value: str) -> datetime:
    """Server timestamps (``...Z`` or ``...+00:00``) to aware datetimes for comparison."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class HeartbeatAck:
    """What the server promised for one acknowledged heartbeat."""

    event_id: int
    timestamp: datetime
    duration: float
    data_json: str


@dataclass
class Ledger:
    """Every acknowledged write, across all rounds (the client's view of the truth)."""

    heartbeats: list[HeartbeatAck] = field(default_factory=list)
    inserts: list[tuple[int, ...]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    hb_clock: int = 0
    seq: int = 0

    @property
    def acknowledged(self) -> int:
        """Number of acknowledged write requests."""
        return len(self.heartbeats) + len(self.inserts)


def writer(url: str, ledger: Ledger, stop: threading.Event, rng: random.Random) -> None:
    """Stream writes until the server dies, ``stop`` is set, or the op budget is spent.

    Only a 200 response is recorded; a request that fails in flight (the kill) is not
    acknowledged, so the server owes nothing for it.
    """
    hb_url = f"{url}/api/0/buckets/{HB_BUCKET}/heartbeat"
    ins_url = f"{url}/api/0/buckets/{INS_BUCKET}/events"
    with requests.Session() as session:
        for _ in range(MAX_OPS_PER_ROUND):
            if stop.is_set():
                return
            try:
                if rng.random() < 0.7:
                    i = ledger.hb_clock
                    ledger.hb_clock += 1
                    data = {"app": "killtest", "title": f"window {(i // 4) % 3}"}
                    body = {
                        "timestamp": (T0 + timedelta(seconds=i)).isoformat(),
                        "duration": 0.0,
                        "data": data,
                    }
                    resp = session.post(
                        hb_url,
                        params={"pulsetime": PULSETIME},
                        json=body,
                        timeout=REQUEST_TIMEOUT_S,
                    )
                    if resp.status_code == 200:
                        got = resp.json()
                        ledger.heartbeats.append(
                            HeartbeatAck(
                                int(got["id"]),
                                _parse_ts(got["timestamp"]),
                                float(got["duration"]),
                                json.dumps(got["data"], sort_keys=True),
                            )
                        )
                    else:
                        ledger.unexpected.append(f"heartbeat HTTP {resp.status_code}")
                        return
                else:
                    count = rng.randint(1, 5)
                    seqs = tuple(range(ledger.seq, ledger.seq + count))
                    ledger.seq += count
                    events = [
                        {
                            "timestamp": (T0 + timedelta(minutes=s)).isoformat(),
                            "duration": 1.5,
                            "data": {"seq": s},
                        }
                        for s in seqs
                    ]
                    resp = session.post(ins_url, json=events, timeout=REQUEST_TIMEOUT_S)
                    if resp.status_code == 200:
                        ledger.inserts.append(seqs)
                    else:
                        ledger.unexpected.append(f"insert HTTP {resp.status_code}")
                        return
            except (requests.RequestException, ValueError):
                return  # the server went away mid-request: not acknowledged


@dataclass
class Check:
    """Result of comparing the ledger with what the restarted server holds."""

    acknowledged: int
    found: int
    lost_examples: list[str]

    @property
    def lost(self) -> int:
        """Acknowledged writes missing from the server."""
        return self.acknowledged - self.found


def verify(url: str, ledger: Ledger) -> Check:
    """Fetch both buckets over HTTP and check every acknowledged write is reflected."""
    with requests.Session() as session:
        hb_resp = session.get(
            f"{url}/api/0/buckets/{HB_BUCKET}/events", params={"limit": "-1"}, timeout=120
        )
        ins_resp = session.get(
            f"{url}/api/0/buckets/{INS_BUCKET}/events", params={"limit": "-1"}, timeout=120
        )
    hb_resp.raise_for_status()
    ins_resp.raise_for_status()
    stored_hb = {
        int(e["id"]): (_parse_ts(e["timestamp"]), float(e["duration"]), e["data"])
        for e in hb_resp.json()
    }
    stored_seqs = {e["data"].get("seq") for e in ins_resp.json() if isinstance(e.get("data"), dict)}
    found = 0
    lost: list[str] = []
    for ack in ledger.heartbeats:
        row = stored_hb.get(ack.event_id)
        ok = (
            row is not None
            and row[0] == ack.timestamp
            and row[1] >= ack.duration - 1e-6
            and json.dumps(row[2], sort_keys=True) == ack.data_json
        )
        if ok:
            found += 1
        elif len(lost) < 5:
            lost.append(f"heartbeat ack {ack} vs stored {row}")
    for seqs in ledger.inserts:
        if all(s in stored_seqs for s in seqs):
            found += 1
        elif len(lost) < 5:
            missing = [s for s in seqs if s not in stored_seqs]
            lost.append(f"insert of seqs {seqs}: missing {missing}")
    return Check(ledger.acknowledged, found, lost)


def integrity(db_path: Path) -> str:
    """``PRAGMA integrity_check`` through a read-only connection ("ok" when healthy)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(r[0]) for r in rows)


def setup_buckets(url: str) -> None:
    """Create the two buckets (idempotent: 304 on later rounds)."""
    for bucket in (HB_BUCKET, INS_BUCKET):
        resp = requests.post(
            f"{url}/api/0/buckets/{bucket}",
            json={"client": "killtest", "type": "test", "hostname": "killtest-host"},
            timeout=REQUEST_TIMEOUT_S,
        )
        if resp.status_code not in (200, 304):
            raise RuntimeError(f"create bucket {bucket}: HTTP {resp.status_code} {resp.text}")


def sabotage(url: str, ledger: Ledger) -> None:
    """Negative control: delete one acknowledged inserted event through the API.

    Proves the verification really detects a missing write (a checker that always says
    "lost 0" would be worthless).
    """
    if not ledger.inserts:
        return
    target = ledger.inserts[0][0]
    events = requests.get(
        f"{url}/api/0/buckets/{INS_BUCKET}/events", params={"limit": "-1"}, timeout=120
    ).json()
    for event in events:
        if isinstance(event.get("data"), dict) and event["data"].get("seq") == target:
            requests.delete(
                f"{url}/api/0/buckets/{INS_BUCKET}/events/{event['id']}", timeout=REQUEST_TIMEOUT_S
            ).raise_for_status()
            print(f"sabotage: deleted acknowledged event seq {target} (id {event['id']})")
            return


def check_round(server: OurServer, ledger: Ledger, label: str) -> tuple[Check, str]:
    """Verify the ledger and DB integrity against a freshly started server; print a line."""
    check = verify(server.url, ledger)
    health = integrity(server.db_path)
    print(
        f"{label}: acknowledged {check.acknowledged}, found {check.found}, lost {check.lost}; "
        f"integrity_check: {health}",
        flush=True,
    )
    for example in check.lost_examples:
        print(f"    lost: {example}")
    return check, health


def run(
    rounds: int,
    seed: int,
    min_delay: float,
    max_delay: float,
    data_root: Path,
    *,
    sabotage_final: bool = False,
) -> int:
    """The whole kill/restart loop; returns the process exit status."""
    rng = random.Random(seed)
    ledger = Ledger()
    db_path = data_root / "db" / "test.db"
    failures = 0
    print(f"killtest: {rounds} rounds, seed {seed}, db {db_path}", flush=True)
    for round_no in range(1, rounds + 1):
        server = start_our_server(data_root, db_path=db_path)
        try:
            if round_no == 1:
                setup_buckets(server.url)
            else:
                check, health = check_round(server, ledger, f"after kill {round_no - 1}")
                failures += int(check.lost > 0 or health != "ok")
            stop = threading.Event()
            thread = threading.Thread(
                target=writer,
                args=(server.url, ledger, stop, random.Random(rng.random())),
                daemon=True,
            )
            before = ledger.acknowledged
            thread.start()
            delay = rng.uniform(min_delay, max_delay)
            time.sleep(delay)
            os.kill(server.pid, signal.SIGKILL)
            server.process.wait(timeout=30)
            stop.set()
            thread.join(timeout=REQUEST_TIMEOUT_S * 3)
            if thread.is_alive():
                print("writer thread did not stop; aborting", file=sys.stderr)
                return 1
            print(
                f"round {round_no}: killed after {delay:.2f}s with "
                f"{ledger.acknowledged - before} acknowledged writes this round",
                flush=True,
            )
        finally:
            server.stop()
    server = start_our_server(data_root, db_path=db_path)
    try:
        if sabotage_final:
            sabotage(server.url, ledger)
        check, health = check_round(server, ledger, "after final restart")
        failures += int(check.lost > 0 or health != "ok")
    finally:
        code = server.stop()
    final_health = integrity(db_path)
    print(f"after clean stop (exit {code}): integrity_check: {final_health}")
    failures += int(final_health != "ok")
    if ledger.unexpected:
        print(f"unexpected HTTP statuses: {ledger.unexpected[:5]}")
        failures += 1
    print(f"acknowledged {check.acknowledged}, found {check.found}, lost {check.lost}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="kill/restart rounds (1-50)")
    parser.add_argument("--seed", type=int, help="random seed (printed; default: random)")
    parser.add_argument("--min-delay", type=float, default=0.3, help="earliest kill, seconds")
    parser.add_argument("--max-delay", type=float, default=2.0, help="latest kill, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the data dir for inspection")
    parser.add_argument(
        "--sabotage",
        action="store_true",
        help="negative control: delete one acknowledged event before the final check "
        "(the run must then report lost 1 and exit 1)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds must be between 1 and 50")
    if not 0 < args.min_delay <= args.max_delay <= 60:
        parser.error("need 0 < --min-delay <= --max-delay <= 60")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    data_root = Path(tempfile.mkdtemp(prefix="aw-killtest-"))
    try:
        return run(
            args.rounds,
            seed,
            args.min_delay,
            args.max_delay,
            data_root,
            sabotage_final=args.sabotage,
        )
    except ServerStartError as exc:
        print(f"our server did not start: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"data kept in {data_root}")
        else:
            shutil.rmtree(data_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
