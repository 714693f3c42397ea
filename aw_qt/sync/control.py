"""Device sync as the tray presents it, in plain Python.

What the Sync submenu shows (one line per paired device, whether "Sync now" can run),
when the user is told about a failed sync, and every call that waits on the network
(pairing, discovery, syncing, unpairing) run in a `Background` thread. The Qt side
(`aw_qt/qt/menu_sync.py`, `aw_qt/qt/pairing_dialog.py`) only shows this and forwards
clicks, so tests drive it against two real servers without a screen.

The server loads its sync libraries only when first needed (`aw_server.sync.loader`), so
this class does not touch the service until the Sync submenu is opened or a call is
made, and looks for failures only once the service is loaded: before that nothing is
paired, so nothing can fail.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aw_qt.background_call import Background, Notice
from aw_qt.server import ServerHandle, ServerMode
from aw_qt.sync import report as sync_report
from aw_qt.sync.report import peer_name, peer_sort_key, shorten
from aw_server.errors import AWError
from aw_server.sync.loader import SyncLoader

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 80
MISSING_PACKAGES = "Sync is unavailable: install the cryptography and spake2 packages"


class SyncAPI(Protocol):
    """The calls of `aw_server.sync.service.SyncService` the tray uses (docs/sync.md)."""

    def pairing(self, *, listen: list[str] | None = None, port: int | None = None,
                ttl: float | None = None) -> dict[str, Any]: ...

    def discover(self, seconds: float = 2.0) -> list[dict[str, Any]]: ...

    def pair(self, address: str, code: str, *, listen: list[str] | None = None,
             port: int | None = None) -> dict[str, Any]: ...

    def peers(self) -> list[dict[str, Any]]: ...

    def sync_now(self, device_id: str | None = None, *,
                 wait: bool = False) -> dict[str, Any]: ...

    def unpair(self, device_id: str, *, purge: bool = False) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PeerView:
    """A paired device as the menu shows it: one `line`, and `details` beneath it."""

    device_id: str
    name: str
    state: str
    line: str
    details: tuple[str, ...]
    sas: str = ""


def ago(seconds: float) -> str:
    """"5 min ago": coarse on purpose, a menu is not a log (negative = clock skew)."""
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    return "1 day ago" if days == 1 else f"{days} days ago"


def format_sas(sas: str) -> str:
    """The 6-digit confirmation code as both devices print it: "123 456"."""
    return f"{sas[:3]} {sas[3:]}" if len(sas) == 6 and sas.isdigit() else sas


def peer_view(row: dict[str, Any], now: float) -> PeerView:
    name = peer_name(row)
    state = str(row.get("state", "active"))
    last_sync, error = row.get("last_sync"), row.get("last_error") or ""
    attempt = row.get("last_attempt")
    synced = f"last synced {ago(now - last_sync)}" if last_sync else "never synced"
    if state == "removed":
        line = f"{name}: {name} removed this pairing"
    elif row.get("running"):
        line = f"{name}: syncing…"
    elif error and last_sync is not None and attempt == last_sync:
        # The session ran to its end, but data of some device was refused.
        line = f"{name}: synced {ago(now - last_sync)}, with an error"
    elif error:
        line = f"{name}: sync failed: {shorten(error, 48)}"
    else:
        line = f"{name}: {synced}"
    details = [synced.capitalize()]
    if attempt and attempt != last_sync:
        details.append(f"Last attempt {ago(now - attempt)}")
    if error:
        details.append(f"Last error: {shorten(error, MAX_ERROR_CHARS)}")
    if row.get("address"):
        details.append(f"Address: {row['address']}")
    if row.get("sas"):
        details.append(f"Confirmation code: {format_sas(str(row['sas']))}")
    if row.get("skew_warning") and row.get("skew") is not None:
        details.append(f"Its clock differs from this one by {abs(row['skew']):.0f} s")
    return PeerView(row["device_id"], name, state, line, tuple(details), str(row.get("sas") or ""))


def window_text(window: dict[str, Any]) -> str:
    """What the "show this device's code" side of the pairing dialog says."""
    until = datetime.fromtimestamp(float(window["expires_at"])).strftime("%H:%M")
    addresses = ", ".join(window.get("addresses") or []) or "(no network address)"
    return (f"On the other device choose Sync ▸ Pair new device… ▸ Enter a code, and type\n\n"
            f"Code: {window['code']}\nAddress: {addresses}\n\n"
            f"This device is {window.get('name', '')}. The code works once, until {until}.")


def paired_text(name: str, sas: str) -> str:
    return (f"Paired with {name}. Check that {name} shows the same confirmation code: "
            f"{format_sas(sas)}. If it does not, unpair it at once.")


class SyncControl:
    """The tray's view of one `SyncAPI`, or of why there is none (`unavailable`).

    `source` gives the service, loading it on first call (None if it cannot load);
    `loaded` says whether that happened already, without loading.
    """

    def __init__(self, source: Callable[[], SyncAPI | None] | None, unavailable: str = "", *,
                 loaded: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.time,
                 listen: list[str] | None = None, port: int | None = None) -> None:
        self._source = source
        self._loaded = loaded
        self.unavailable = "" if source is not None else (unavailable or "Sync is unavailable")
        self.clock = clock
        self.listen = listen  # where the sync listener binds; None: the server's choice
        self.port = port
        self.syncing: Background[dict[str, Any]] | None = None
        self._watched: list[tuple[Background[Any], Callable[[Background[Any]], list[Notice]]]] = []
        self._names: dict[str, str] = {}
        self._status: dict[str, dict[str, Any]] = {}  # the last status row of each device
        self._notified: dict[str, str] | None = None  # device id -> error already shown

    @classmethod
    def for_server(cls, handle: ServerHandle) -> SyncControl:
        server = handle.server
        if server is None:
            if handle.mode is ServerMode.EXTERNAL:
                return cls(None, "Sync is set up in the server that was already running")
            return cls(None, "Sync is unavailable: the server is not running")
        loader = server.app.extensions.get("aw_sync")
        if isinstance(loader, SyncLoader):
            return cls(lambda: server.sync, loaded=lambda: loader.loaded)
        return cls(lambda: server.sync)

    @property
    def service(self) -> SyncAPI | None:
        """The service, loaded now if need be; None (and `unavailable` says why) if not."""
        if self._source is None:
            return None
        service = self._source()
        if service is None:
            self.unavailable = self.unavailable or MISSING_PACKAGES
        return service

    def loaded(self) -> bool:
        """True once the service is there; never loads it."""
        return self._source is not None and self._loaded()

    @property
    def available(self) -> bool:
        """Loads the service: ask only when about to show or use it."""
        return self.service is not None

    # -- what the menu shows --------------------------------------------------------------
    def _rows(self) -> list[dict[str, Any]]:
        service = self.service
        if service is None:
            return []
        try:
            rows = [r for r in service.peers() if r.get("state") != "revoked"]
        except (AWError, sqlite3.Error) as exc:
            logger.warning("cannot read the paired devices: %s", exc)
            return []
        rows.sort(key=peer_sort_key)
        self._names.update({r["device_id"]: peer_name(r) for r in rows})
        self._status.update({r["device_id"]: r for r in rows})
        return rows

    def peers(self) -> list[PeerView]:
        now = self.clock()
        return [peer_view(row, now) for row in self._rows()]

    def active_ids(self) -> set[str]:
        return {r["device_id"] for r in self._rows() if r.get("state") == "active"}

    def sync_running(self) -> bool:
        return self.syncing is not None and not self.syncing.finished

    def can_sync_now(self) -> bool:
        return not self.sync_running() and any(
            r.get("state") == "active" and r.get("address") for r in self._rows())

    def sync_now_text(self) -> str:
        return "Syncing…" if self.sync_running() else "Sync now"

    def newly_paired(self, known: set[str]) -> PeerView | None:
        """The device that paired with us since `known` was taken (the dialog waits for it)."""
        now = self.clock()
        for row in self._rows():
            if row.get("state") == "active" and row["device_id"] not in known:
                return peer_view(row, now)
        return None

    # -- what the menu does (all in the background) ----------------------------------------
    def _service(self) -> SyncAPI:
        """For the background calls: loading the libraries happens in that thread too."""
        service = self.service
        if service is None:
            raise AWError(self.unavailable)
        return service

    def open_pairing(self) -> Background[dict[str, Any]]:
        return Background("sync-pairing",
                          lambda: self._service().pairing(listen=self.listen, port=self.port))

    def can_discover(self) -> bool:
        """Whether "Search the network" can work here (the zeroconf package is there)."""
        if not self.available:
            return False
        from aw_server.sync import discovery

        return discovery.available()

    def discover(self, seconds: float = 2.0) -> Background[list[dict[str, Any]]]:
        return Background("sync-discover", lambda: self._service().discover(seconds))

    def pair(self, address: str, code: str) -> Background[dict[str, Any]]:
        address, code = address.strip(), code.strip().upper()
        return Background("sync-pair", lambda: self._service().pair(
            address, code, listen=self.listen, port=self.port))

    def sync_now(self) -> Background[dict[str, Any]] | None:
        """Sync with every paired device; None when one is already running from here."""
        if self.sync_running():
            return None
        job = Background("sync-now", lambda: self._service().sync_now(wait=True))
        self.syncing = job
        self._watched.append((job, self._sync_finished))
        return job

    def unpair(self, device_id: str, *, purge: bool) -> Background[dict[str, Any]]:
        name = self._names.get(device_id, device_id[:8])
        job = Background("sync-unpair",
                         lambda: self._service().unpair(device_id, purge=purge))

        def finished(done: Background[Any]) -> list[Notice]:
            if done.error:
                return [Notice("Unpairing failed", f"Could not unpair {name}: {done.error}",
                               error=True)]
            purged = " and deleted its data on this device" if purge else ""
            return [Notice("Sync", f"Unpaired {name}{purged}.")]

        self._watched.append((job, finished))
        return job

    # -- what the user is told ------------------------------------------------------------
    def check(self) -> list[Notice]:
        """Called every tick: results of finished work, then syncs that newly failed.

        A failure is reported once per distinct error; a success in between re-arms it.
        Errors already there when aw-qt started were reported (or not) back then.
        """
        notices: list[Notice] = []
        for job, report in [w for w in self._watched if w[0].finished]:
            self._watched.remove((job, report))
            notices += report(job)
        if not self.loaded() or self.sync_running():
            return notices  # the running "Sync now" reports its own outcome
        errors = self._errors()
        if self._notified is None:
            self._notified = {k: v for k, v in errors.items() if v}
            return notices
        new = []
        for device_id, error in errors.items():
            if not error:
                self._notified.pop(device_id, None)
            elif self._notified.get(device_id) != error:
                self._notified[device_id] = error
                new.append((self._names.get(device_id, device_id[:8]), error))
        if new:  # one notice, even when several devices failed in the same round
            notices.append(sync_report.failures(new))
        return notices

    def _errors(self) -> dict[str, str]:
        return {r["device_id"]: r.get("last_error") or "" for r in self._rows()
                if r.get("state") == "active"}

    def _sync_finished(self, job: Background[Any]) -> list[Notice]:
        """One notice for the whole round, failures first: a balloon per device let
        the last one hide the others."""
        if job.error:
            return [Notice("Sync", f"Sync did not start: {job.error}")]
        results = (job.result or {}).get("results", {})
        errors = self._errors()  # also learns the names of devices paired meanwhile
        done = sync_report.outcomes(results, self._status)
        notified = self._notified if self._notified is not None else {
            k: v for k, v in errors.items() if v and k not in {o.device_id for o in done}}
        for outcome in done:
            if outcome.error:
                notified[outcome.device_id] = outcome.error
            else:
                notified.pop(outcome.device_id, None)
        self._notified = notified
        return [sync_report.summary(done)]
