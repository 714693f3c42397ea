"""`SyncService`: the plain-Python face of sync for the HTTP routes and the tray.

    service = SyncService(store, hostname=..., db_path=...)
    service.start()                      # listener if paired, 5-minute schedule
    service.pairing()                    # → {"code", "expires_at", "addresses", ...}
    service.discover()                   # → [{"name", "device_id", "address"}] (zeroconf)
    service.pair("192.168.1.20:5601", "K7QM-2XPA")   # → {"peer": {device_id, name, sas}}
    service.peers()                      # → [{device_id, label, state, last_sync, ...}]
    service.sync_now()                   # → {"started": [...]}; Conflict (409) if running
    service.unpair(device_id, purge=False, revoke=False)
    service.stop()

Every method is thread-safe and raises the typed errors of `aw_server.errors`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import requests

from aw_server.datastore.store import Datastore
from aw_server.devices import SKEW_WARNING_S, default_label
from aw_server.errors import AWError, BadRequest, Conflict, NotFound
from aw_server.sync import crypto, discovery, signing
from aw_server.sync.client import PeerError, RemotePeer
from aw_server.sync.endpoint import PeerEndpoint
from aw_server.sync.listener import ListenerControl
from aw_server.sync.local import ApplyFaults, LocalAccess
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
from aw_server.sync.regression import LogGuard
from aw_server.sync.scheduler import INTERVAL_S, Scheduler, outcome_of
from aw_server.sync.session import run_session

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5601
TESTING_PORT = 5667
REVOKED_KEEP_S = 30 * 86400
MAX_LABEL = 100


class SyncService:
    def __init__(self, store: Datastore, *, hostname: str, testing: bool = False,
                 db_path: Path | str | None = None, interval: float | None = INTERVAL_S,
                 default_port: int | None = None, faults: ApplyFaults | None = None) -> None:
        """`interval`: seconds between scheduled sessions per peer; None runs only the
        sessions asked for ("Sync now"). `faults`: test support only (see ApplyFaults)."""
        self.store = store
        self.hostname = hostname
        self.testing = testing
        self.scheduled = interval is not None
        self.interval = interval or INTERVAL_S
        self.signer = signing.Signer(store.trust.sign_seed(), store.device_id)
        self.guard = LogGuard(store, self.signer, db_path)
        self.faults = faults
        self.responder = Responder(store.device_id, hostname, self.signer.key)
        self.endpoint = PeerEndpoint(
            store, self.responder, local=self.local_access, on_paired=self._paired_by_peer,
            on_unpaired=self._removed_by_peer, check_regression=self.guard.check_claim)
        self.peer_app = create_peer_app(self.endpoint)
        self.listener = ListenerControl(
            store, lambda hosts, port: Listener(self.peer_app, hosts, port),
            default_port or (TESTING_PORT if testing else DEFAULT_PORT))
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self.advertiser = discovery.Advertiser()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        paired = any(p.state == "active" for p in self.store.trust.peers())
        self.guard.check_at_start(paired)
        self.store.trust.forget_revoked_peers(time.time() - REVOKED_KEEP_S)
        if paired:
            try:
                self.listener.ensure()
            except (OSError, AWError) as exc:
                logger.error("sync listener could not start: %s", getattr(exc, "message", exc))
        if self.scheduled:
            self._scheduler = Scheduler(self._active_peer_ids, self._scheduled_sync,
                                        interval=self.interval)
            self._scheduler.start()

    def stop(self) -> None:
        self.advertiser.stop()
        if self._scheduler is not None:
            self._scheduler.stop()
        self.listener.stop()
        for thread in list(self._threads):
            thread.join(10)

    def addresses(self) -> list[str]:
        return self.listener.addresses()

    def listen(self, hosts: list[str] | None = None, port: int | None = None
               ) -> dict[str, Any]:
        """Where the listener is and may be (`hosts`/`port` given: move it there first)."""
        if hosts is not None or port is not None:
            self.listener.ensure(hosts, port)
        return self.listener.describe()

    # -- pairing -----------------------------------------------------------------------
    def pairing(self, *, listen: list[str] | None = None, port: int | None = None,
                ttl: float | None = None) -> dict[str, Any]:
        """Open the 5-minute window; the code is shown to the user."""
        self.listener.ensure(listen, port)
        seconds = ttl if (ttl and self.testing) else 300.0
        window = self.responder.open(seconds)
        bound = self.listener.listener.bound if self.listener.listener else []
        advertised = bool(bound) and self.advertiser.start(
            self.store.device_id, self.hostname, bound, list(self.listener.settings().hosts),
            seconds)
        return {"code": window.code, "expires_at": window.expires,
                "addresses": self.addresses(), "device_id": self.store.device_id,
                "name": self.hostname, "advertised": advertised}

    def discover(self, seconds: float = 2.0) -> list[dict[str, Any]]:
        """Devices on the LAN showing a pairing code right now (needs `zeroconf`)."""
        return discovery.browse(seconds, list(self.listener.settings().hosts),
                                exclude=self.store.device_id)

    def pair(self, address: str, code: str, *, listen: list[str] | None = None,
             port: int | None = None) -> dict[str, Any]:
        """Pair with the device at `address` that shows `code`."""
        address = _check_address(address)
        self.listener.ensure(listen, port)
        spake, msg = start_initiator(code)
        me = self.store.device_id
        http = requests.Session()
        try:
            answer = _post_json(http, address, "/sync/v1/pair", {
                "proto": 2, "device_id": me, "name": self.hostname,
                "addresses": self.addresses(), "msg": b64(msg), "key": b64(self.signer.key)})
            peer, confirm = finish_initiator(spake, me, self.hostname, msg, self.signer.key,
                                             answer)
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
        self.store.trust.save_peer(peer.device_id, peer.name, peer.key, address, peer.sas,
                             peer.sign_key)
        return {"peer": {"device_id": peer.device_id, "name": peer.name, "sas": peer.sas,
                         "label": default_label(peer.name, peer.device_id)}}

    def _paired_by_peer(self, peer: PairedPeer, remote_addr: str) -> None:
        self.advertiser.stop()
        address = next((a for a in peer.addresses if a.rpartition(":")[0].strip("[]")
                        == remote_addr), peer.addresses[0] if peer.addresses else "")
        self.store.trust.save_peer(peer.device_id, peer.name, peer.key, address, peer.sas,
                             peer.sign_key)

    def _removed_by_peer(self, device_id: str) -> None:
        logger.warning("device %s removed the pairing with this device", device_id)
        self.store.trust.set_peer_state(device_id, "removed")

    # -- peers -------------------------------------------------------------------------
    def peers(self) -> list[dict[str, Any]]:
        with self._lock:
            running = set(self._running)
        out = []
        for peer in self.store.trust.peers():
            row = asdict(peer)
            del row["key"]
            row["sign_key"] = signing.fingerprint(peer.sign_key) if peer.sign_key else None
            row["label"] = peer.label or default_label(peer.name, peer.device_id)
            row["running"] = peer.device_id in running
            row["skew_warning"] = peer.skew is not None and abs(peer.skew) > SKEW_WARNING_S
            out.append(row)
        return out

    def set_label(self, device_id: str, label: Any) -> dict[str, Any]:
        """Name a peer ("" goes back to hostname and short id)."""
        if not isinstance(label, str) or len(label) > MAX_LABEL \
                or any(ord(c) < 32 for c in label):
            raise BadRequest(f"'label' must be text of at most {MAX_LABEL} characters",
                             param="label")
        if self.store.trust.peer(device_id) is None:
            raise NotFound(f"no paired device {device_id}")
        self.store.trust.set_peer_label(device_id, label.strip())
        return next(p for p in self.peers() if p["device_id"] == device_id)

    def devices(self) -> list[dict[str, Any]]:
        return self.store.trust.devices()

    def skipped(self) -> list[dict[str, Any]]:
        return self.store.trust.skipped_items()

    def _active_peer_ids(self) -> list[str]:
        return [p.device_id for p in self.store.trust.peers() if p.state == "active" and p.address]

    def unpair(self, device_id: str, *, purge: bool = False, revoke: bool = False
               ) -> dict[str, Any]:
        """Stop syncing with a paired device. `revoke`: it was lost or stolen, so a
        revocation signed here goes to every device of the group (none accepts its new
        data any more); `purge`: delete what it sent here."""
        peer = self.store.trust.peer(device_id)
        if peer is None:
            raise NotFound(f"no paired device {device_id}")
        told = False
        if peer.state == "active" and peer.address and not revoke:
            try:
                RemotePeer(peer.address, self.store.device_id, device_id, peer.key).unpair()
                told = True
            except AWError as exc:
                logger.info("could not tell %s about the unpairing: %s", device_id, exc)
        self.store.trust.set_peer_state(device_id, "revoked")
        if revoke:
            key = peer.sign_key or self.store.trust.device_key(device_id) or bytes(32)
            self.store.trust.add_revocation(self.signer.revoke(device_id, key,
                                                         int(time.time() * 1e6)))
        purged = self.store.sync.purge_device(device_id) if purge else 0
        return {"ok": True, "told_peer": told, "revoked": revoke, "purged_origins": purged}

    # -- syncing -----------------------------------------------------------------------
    def local_access(self, peer: str = "") -> LocalAccess:
        faults = self.faults
        local = LocalAccess(self.store, peer=peer, on_handout=self.guard.record_handout,
                            before_commit=faults.before_commit if faults else None)
        if faults is not None:
            push = local.push

            def push_then_count(delta: Any) -> Any:
                answer = push(delta)
                faults.applied()
                return answer

            local.push = push_then_count  # type: ignore[method-assign]
        return local

    def sync_now(self, device_id: str | None = None, *, wait: bool = False) -> dict[str, Any]:
        targets = [device_id] if device_id else self._active_peer_ids()
        for target in targets:
            peer = self.store.trust.peer(target)
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
        if not wait:
            return {"started": targets}
        for thread in threads:
            thread.join()
        return {"started": targets, "results": results, "report": self._report(results)}

    def _report(self, results: dict[str, Any]) -> list[dict[str, Any]]:
        """One line per peer, failures first, named as the user named them."""
        labels = {p["device_id"]: p["label"] for p in self.peers()}
        lines = [{"device_id": device_id, "label": labels.get(device_id, device_id[:8]),
                  "ok": "error" not in result, **result}
                 for device_id, result in results.items()]
        return sorted(lines, key=lambda line: (line["ok"], line["label"]))

    def _session_thread(self, device_id: str, results: dict[str, Any]) -> None:
        try:
            results[device_id] = self._run(device_id)
        except Exception:
            logger.exception("sync with %s failed", device_id)
            results[device_id] = {"error": "internal error (the server log has the details)",
                                  "error_code": "internal"}
            self.store.trust.record_peer_sync(device_id, error=results[device_id]["error"],
                                        nbytes=0, skew=None)
        finally:
            with self._lock:
                self._running.discard(device_id)
                self._threads = [t for t in self._threads if t.is_alive()
                                 and t is not threading.current_thread()]
            if self._scheduler is not None and device_id in results:
                self._scheduler.note(device_id, outcome_of(results[device_id].get(
                    "error_code")))

    def _scheduled_sync(self, device_id: str) -> str:
        with self._lock:
            if device_id in self._running:
                return "ok"
            self._running.add(device_id)
        results: dict[str, Any] = {}
        self._session_thread(device_id, results)
        return outcome_of(results.get(device_id, {}).get("error_code"))

    def _run(self, device_id: str) -> dict[str, Any]:
        peer = self.store.trust.peer(device_id)
        if peer is None or peer.state != "active":
            return {"error": "not paired", "error_code": "unknown"}
        remote = RemotePeer(peer.address, self.store.device_id, device_id, peer.key)
        try:
            result = run_session(self.local_access(device_id), remote,
                                 check_remote_summary=self.guard.check_claim)
        except AWError as exc:
            code = getattr(exc, "code", exc.error_type)
            if code == "revoked" and getattr(exc, "trusted", False):
                self.store.trust.set_peer_state(device_id, "removed")
            self.store.trust.record_peer_sync(device_id, error=exc.message,
                                        nbytes=remote.bytes_sent + remote.bytes_received,
                                        skew=remote.skew_s)
            return {"error": exc.message, "error_code": code,
                    "bytes_sent": remote.bytes_sent, "bytes_received": remote.bytes_received}
        finally:
            remote.http.close()
        nbytes = remote.bytes_sent + remote.bytes_received
        out = {**asdict(result), "bytes_sent": remote.bytes_sent,
               "bytes_received": remote.bytes_received, "requests": remote.requests}
        if result.refused:
            # The rest went through; what was refused stays visible until a clean sync.
            first = result.refused[0]
            out["error"] = (f"refused the data of device {first['device_id'][:8]}: "
                            f"{first['message']}" + (f" (and {len(result.refused) - 1} "
                                                     "more)" if len(result.refused) > 1 else ""))
            out["error_code"] = first["error"]
        self.store.trust.record_peer_sync(device_id, error=out.get("error"), nbytes=nbytes,
                                    skew=remote.skew_s, completed=True)
        return out


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
