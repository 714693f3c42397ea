"""`SyncService`: the plain-Python face of sync for the HTTP routes and the tray.

    service = SyncService(store, hostname=..., db_path=...)
    service.start()                      # listener if paired, 5-minute schedule
    service.pairing()                    # → {"code", "expires_at", "addresses", ...}
    service.discover()                   # → [{"name", "device_id", "address"}] (zeroconf)
    service.pair("192.168.1.20:5601", "K7QM-2XPA")   # → {"peer": {device_id, name, sas}}
    service.peers()                      # → [{device_id, name, state, last_sync, ...}]
    service.sync_now()                   # → {"started": [...]}; Conflict (409) if running
    service.unpair(device_id, purge=False)
    service.stop()

Every method is thread-safe and raises the typed errors of `aw_server.errors`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import requests

from aw_server.datastore.store import Datastore
from aw_server.errors import AWError, BadRequest, Conflict, NotFound
from aw_server.sync import crypto, discovery
from aw_server.sync.client import PeerError, RemotePeer
from aw_server.sync.endpoint import PeerEndpoint
from aw_server.sync.pairing import (
    PairedPeer,
    PairingClosed,
    Responder,
    b64,
    finish_initiator,
    start_initiator,
    unb64,
)
from aw_server.sync.peer_api import Listener, create_peer_app
from aw_server.sync.protocol import LocalAccess, Summary
from aw_server.sync.scheduler import INTERVAL_S, Scheduler
from aw_server.sync.session import run_session

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5601
TESTING_PORT = 5667
REVOKED_KEEP_S = 30 * 86400
_LISTEN_KEY = "sync.listen"


class FaultPlan:
    """Test builds only (`--testing` and AWSYNC_TEST_FAULT=before_commit:k|after_commit:k):
    the process dies at that point of the k-th applied chunk, like a kill -9."""

    def __init__(self, spec: str) -> None:
        stage, _, count = spec.partition(":")
        self.stage = stage
        self.at = int(count) if count.isdigit() else 0
        self.seen = 0

    def hit(self, stage: str) -> None:
        if stage != self.stage or not self.at:
            return
        if stage == "before_commit":
            self.seen += 1
        if self.seen >= self.at:
            logger.warning("AWSYNC_TEST_FAULT %s:%d: exiting now", stage, self.at)
            os._exit(86)

    def applied(self) -> None:
        if self.stage == "after_commit":
            self.seen += 1
            self.hit("after_commit")


class SyncService:
    def __init__(self, store: Datastore, *, hostname: str, testing: bool = False,
                 db_path: Path | str | None = None,
                 interval: float | None = None) -> None:
        self.store = store
        self.hostname = hostname
        self.testing = testing
        # Test builds may change the schedule: AWSYNC_INTERVAL=<seconds> or "off".
        from_env = os.environ.get("AWSYNC_INTERVAL", "") if testing else ""
        self.scheduled = from_env != "off"
        self.interval = interval or (float(from_env) if from_env.replace(".", "").isdigit()
                                     else 0.0) or INTERVAL_S
        self._sidecar = (Path(str(db_path) + ".sync-log")
                         if db_path and str(db_path) != ":memory:" else None)
        self._handed_out = 0
        self.faults = FaultPlan(os.environ.get("AWSYNC_TEST_FAULT", "")) if testing else None
        self.responder = Responder(store.device_id, hostname)
        self.endpoint = PeerEndpoint(
            store, self.responder, local=self.local_access, on_paired=self._paired_by_peer,
            on_unpaired=self._removed_by_peer, check_regression=self._check_claimed_log)
        self.peer_app = create_peer_app(self.endpoint)
        self._listener: Listener | None = None
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self.advertiser = discovery.Advertiser()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._check_restored()
        self.store.forget_revoked_peers(time.time() - REVOKED_KEEP_S)
        if any(p.state == "active" for p in self.store.peers()):
            try:
                self._ensure_listener()
            except OSError as exc:
                logger.error("sync listener could not start: %s", exc)
        if self.scheduled:
            self._scheduler = Scheduler(self._active_peer_ids, self._scheduled_sync,
                                        interval=self.interval)
            self._scheduler.start()

    def stop(self) -> None:
        self.advertiser.stop()
        if self._scheduler is not None:
            self._scheduler.stop()
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        for thread in list(self._threads):
            thread.join(10)

    # -- the listener ------------------------------------------------------------------
    def _listen_config(self) -> tuple[list[str], int]:
        raw = self.store.get_meta(_LISTEN_KEY)
        if raw:
            value = json.loads(raw)
            return list(value["hosts"]), int(value["port"])
        return ["0.0.0.0"], TESTING_PORT if self.testing else DEFAULT_PORT

    def _ensure_listener(self, hosts: list[str] | None = None, port: int | None = None) -> None:
        with self._lock:
            if hosts is not None or port is not None:
                current_hosts, current_port = self._listen_config()
                hosts = hosts if hosts is not None else current_hosts
                # Port 0 means "any": a running listener on these hosts keeps its port.
                keep = port is None or (port == 0 and self._listener is not None)
                port = current_port if keep else port
                if (hosts, port) != (current_hosts, current_port) and self._listener:
                    self._listener.stop()
                    self._listener = None
                self.store.set_meta(_LISTEN_KEY, json.dumps({"hosts": hosts, "port": port}))
            if self._listener is None:
                hosts, port = self._listen_config()
                listener = Listener(self.peer_app, hosts, port)
                listener.start()
                self._listener = listener
                if port == 0:
                    # Keep the port the system chose, so peers find us after a restart.
                    bound = listener.bound[0][1]
                    self.store.set_meta(_LISTEN_KEY, json.dumps({"hosts": hosts,
                                                                 "port": bound}))
                logger.info("sync listener on %s", ", ".join(self.addresses()))

    def addresses(self) -> list[str]:
        listener = self._listener
        if listener is None:
            return []
        out = []
        for host, port in listener.bound:
            if host in ("0.0.0.0", "::", ""):
                out += [f"{ip}:{port}" for ip in _lan_addresses()]
            else:
                out.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        return out

    # -- pairing -----------------------------------------------------------------------
    def pairing(self, *, listen: list[str] | None = None, port: int | None = None,
                ttl: float | None = None) -> dict[str, Any]:
        """Open the 5-minute window; the code is shown to the user."""
        self._ensure_listener(listen, port)
        seconds = ttl if (ttl and self.testing) else 300.0
        window = self.responder.open(seconds)
        listener = self._listener
        advertised = listener is not None and self.advertiser.start(
            self.store.device_id, self.hostname, listener.bound, self._listen_config()[0],
            seconds)
        return {"code": window.code, "expires_at": window.expires,
                "addresses": self.addresses(), "device_id": self.store.device_id,
                "name": self.hostname, "advertised": advertised}

    def discover(self, seconds: float = 2.0) -> list[dict[str, Any]]:
        """Devices on the LAN showing a pairing code right now (needs `zeroconf`)."""
        return discovery.browse(seconds, self._listen_config()[0],
                                exclude=self.store.device_id)

    def pair(self, address: str, code: str, *, listen: list[str] | None = None,
             port: int | None = None) -> dict[str, Any]:
        """Pair with the device at `address` that shows `code`."""
        address = _check_address(address)
        self._ensure_listener(listen, port)
        spake, msg = start_initiator(code)
        me = self.store.device_id
        http = requests.Session()
        try:
            answer = _post_json(http, address, "/sync/v1/pair", {
                "proto": 1, "device_id": me, "name": self.hostname,
                "addresses": self.addresses(), "msg": b64(msg)})
            peer, confirm = finish_initiator(spake, me, self.hostname, msg, answer)
            nonce = crypto.new_nonce()
            response = http.post(f"http://{address}/sync/v1/pair/confirm", timeout=10,
                                 json={"device_id": me, "confirm": b64(confirm),
                                       "nonce": b64(nonce)})
        except requests.RequestException as exc:
            raise PeerError(f"cannot reach {address}: {type(exc).__name__}",
                            code="unreachable") from None
        finally:
            http.close()
        keys = crypto.PeerKeys.derive(peer.key, me, peer.device_id)
        try:
            aad = crypto.response_aad(nonce, response.status_code, peer.device_id, me)
            reply_nonce = unb64(response.headers.get("X-Aws-Nonce", ""), "nonce")
            ok = json.loads(crypto.unpack(crypto.open_sealed(keys.receive, reply_nonce, aad,
                                                             response.content), 4096))
        except (AWError, crypto.BadSeal, ValueError):
            raise PeerError("the other device did not confirm the pairing",
                            code="unconfirmed") from None
        if response.status_code != 200 or ok != {"ok": True}:
            raise PeerError("the other device did not confirm the pairing", code="unconfirmed")
        self.store.save_peer(peer.device_id, peer.name, peer.key, address, peer.sas)
        return {"peer": {"device_id": peer.device_id, "name": peer.name, "sas": peer.sas}}

    def _paired_by_peer(self, peer: PairedPeer, remote_addr: str) -> None:
        self.advertiser.stop()
        address = next((a for a in peer.addresses if a.rpartition(":")[0].strip("[]")
                        == remote_addr), peer.addresses[0] if peer.addresses else "")
        self.store.save_peer(peer.device_id, peer.name, peer.key, address, peer.sas)

    def _removed_by_peer(self, device_id: str) -> None:
        logger.warning("device %s removed the pairing with this device", device_id)
        self.store.set_peer_state(device_id, "removed")

    # -- peers -------------------------------------------------------------------------
    def peers(self) -> list[dict[str, Any]]:
        with self._lock:
            running = set(self._running)
        out = []
        for peer in self.store.peers():
            row = asdict(peer)
            del row["key"]
            row["running"] = peer.device_id in running
            row["last_error"] = peer.last_error
            row["skew_warning"] = peer.skew is not None and abs(peer.skew) > 60
            out.append(row)
        return out

    def _active_peer_ids(self) -> list[str]:
        return [p.device_id for p in self.store.peers() if p.state == "active" and p.address]

    def unpair(self, device_id: str, *, purge: bool = False) -> dict[str, Any]:
        peer = self.store.peer(device_id)
        if peer is None:
            raise NotFound(f"no paired device {device_id}")
        told = False
        if peer.state == "active" and peer.address:
            try:
                RemotePeer(peer.address, self.store.device_id, device_id, peer.key).unpair()
                told = True
            except AWError as exc:
                logger.info("could not tell %s about the unpairing: %s", device_id, exc)
        self.store.set_peer_state(device_id, "revoked")
        purged = self.store.purge_device(device_id) if purge else 0
        return {"ok": True, "told_peer": told, "purged_origins": purged}

    # -- syncing -----------------------------------------------------------------------
    def local_access(self) -> LocalAccess:
        faults = self.faults
        local = LocalAccess(self.store, on_handout=self._record_handout,
                            before_commit=(lambda: faults.hit("before_commit"))
                            if faults else None)
        if faults is not None:
            push = local.push

            def push_then_count(delta: Any) -> Summary:
                summary = push(delta)
                faults.applied()
                return summary

            local.push = push_then_count  # type: ignore[method-assign]
        return local

    def sync_now(self, device_id: str | None = None, *, wait: bool = False) -> dict[str, Any]:
        targets = [device_id] if device_id else self._active_peer_ids()
        for target in targets:
            peer = self.store.peer(target)
            if peer is None or peer.state != "active":
                raise NotFound(f"no active paired device {target}")
        with self._lock:
            busy = [t for t in targets if t in self._running]
            if busy:
                raise Conflict(f"a sync with {', '.join(busy)} is already running")
            self._running.update(targets)
        results: dict[str, Any] = {}
        threads = []
        for target in targets:
            thread = threading.Thread(target=self._session_thread, args=(target, results),
                                      name=f"aw-sync-{target[:8]}", daemon=True)
            threads.append(thread)
            self._threads.append(thread)
            thread.start()
        if wait:
            for thread in threads:
                thread.join()
            return {"started": targets, "results": results}
        return {"started": targets}

    def _session_thread(self, device_id: str, results: dict[str, Any]) -> None:
        try:
            results[device_id] = self._run(device_id)
        finally:
            with self._lock:
                self._running.discard(device_id)
                self._threads = [t for t in self._threads if t.is_alive()
                                 and t is not threading.current_thread()]

    def _scheduled_sync(self, device_id: str) -> bool:
        with self._lock:
            if device_id in self._running:
                return True
            self._running.add(device_id)
        results: dict[str, Any] = {}
        self._session_thread(device_id, results)
        return results.get(device_id, {}).get("error_code") != "unreachable"

    def _run(self, device_id: str) -> dict[str, Any]:
        peer = self.store.peer(device_id)
        if peer is None or peer.state != "active":
            return {"error": "not paired", "error_code": "unknown"}
        remote = RemotePeer(peer.address, self.store.device_id, device_id, peer.key)
        try:
            result = run_session(self.local_access(), remote,
                                 check_remote_summary=self._check_claimed_log)
        except AWError as exc:
            code = getattr(exc, "code", exc.error_type)
            if code == "revoked" and getattr(exc, "trusted", False):
                self.store.set_peer_state(device_id, "removed")
            self.store.record_peer_sync(device_id, error=exc.message,
                                        nbytes=remote.bytes_sent + remote.bytes_received,
                                        skew=remote.skew_s)
            return {"error": exc.message, "error_code": code}
        finally:
            remote.http.close()
        nbytes = remote.bytes_sent + remote.bytes_received
        self.store.record_peer_sync(device_id, error=None, nbytes=nbytes, skew=remote.skew_s)
        return {**asdict(result), "bytes_sent": remote.bytes_sent,
                "bytes_received": remote.bytes_received, "requests": remote.requests}

    # -- log regression (restored database) ----------------------------------------------
    def _check_claimed_log(self, summary: Summary) -> None:
        claimed = summary.hwms.get(self.store.db.log_id, 0)
        if claimed > self.store.own_max_seq():
            logger.error("a peer holds more of this database's log than the database itself: "
                         "it was restored from a backup. Starting a new change log.")
            self._rotate()

    def _check_restored(self) -> None:
        if self._sidecar is None:
            return
        try:
            state = json.loads(self._sidecar.read_text(encoding="utf-8"))
            log_id, handed = str(state["log_id"]), int(state["handed_out"])
        except (OSError, ValueError, KeyError, TypeError):
            if any(p.state == "active" for p in self.store.peers()):
                logger.warning("sync log record %s is missing; starting a new change log",
                               self._sidecar)
                self._rotate()
            else:
                self._write_sidecar(0)
            return
        if log_id != self.store.db.log_id or handed > self.store.own_max_seq():
            logger.error("this database is older than what it already sent to peers (restored "
                         "from a backup or copied): starting a new change log")
            self._rotate()
        else:
            self._handed_out = handed

    def _rotate(self) -> None:
        self.store.rotate_log()
        self._write_sidecar(0)

    def _record_handout(self, up_to: int) -> None:
        if up_to > self._handed_out:
            self._write_sidecar(up_to)

    def _write_sidecar(self, handed: int) -> None:
        self._handed_out = handed
        if self._sidecar is None:
            return
        tmp = self._sidecar.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            json.dump({"log_id": self.store.db.log_id, "handed_out": handed}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self._sidecar)


def _check_address(address: Any) -> str:
    if not isinstance(address, str) or not address or len(address) > 300 \
            or any(c in address for c in "/?#@ \t"):
        raise BadRequest("'address' must be host:port", param="address")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise BadRequest("'address' must be host:port, e.g. 192.168.1.20:5601",
                         param="address")
    return address


def _post_json(http: requests.Session, address: str, path: str,
               value: dict[str, Any]) -> dict[str, Any]:
    response = http.post(f"http://{address}{path}", json=value, timeout=10)
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict):
        word = answer.get("error", "error") if isinstance(answer, dict) else "error"
        message = answer.get("message", "") if isinstance(answer, dict) else ""
        if word == "PairingClosed":
            raise PairingClosed(f"{address} has no open pairing window (expired, used, or "
                                "too many tries): open a new one there")
        raise PeerError(f"pairing refused by {address}: {word} {message}".strip(), code=word)
    return answer


def _lan_addresses() -> list[str]:
    """This machine's outward-facing IPv4 address (no packet is sent)."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            found.append(probe.getsockname()[0])
        except OSError:
            pass
    return found or ["127.0.0.1"]
