"""Where the sync listener listens, and changing that without ever losing it.

Loopback (this computer only) unless the user picks a network interface in the pairing
dialog or on the dashboard; the choice is remembered in the database (`meta`). A change
is transactional: the new address is bound first, and only once that worked are the
settings stored and the old listener closed; a busy port the user asked for is a 409
naming it, and a busy default port is replaced by a free one.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aw_server.datastore.store import Datastore
from aw_server.errors import BadRequest, Conflict
from aw_server.sync.peer_api import Listener

logger = logging.getLogger(__name__)

LISTEN_KEY = "sync.listen"
LOOPBACK = "127.0.0.1"
ALL_INTERFACES = ("0.0.0.0", "::")


class PortBusy(Conflict):
    error_type = "PortBusy"


@dataclass(frozen=True)
class ListenSettings:
    hosts: tuple[str, ...]
    port: int
    chosen: bool  # the user asked for this port (else a busy one is swapped for a free one)

    def to_json(self) -> dict[str, Any]:
        return {"hosts": list(self.hosts), "port": self.port, "chosen": self.chosen}


def check_hosts(hosts: Any) -> tuple[str, ...]:
    if not isinstance(hosts, list) or not hosts or len(hosts) > 8:
        raise BadRequest("'listen' must be a list of 1 to 8 IP addresses", param="listen")
    out = []
    for host in hosts:
        try:
            out.append(str(ipaddress.ip_address(host)))
        except (ValueError, TypeError):
            raise BadRequest(f"'listen' holds {host!r}, which is not an IP address",
                             param="listen") from None
    return tuple(dict.fromkeys(out))


class ListenerControl:
    def __init__(self, store: Datastore, bind: Callable[[list[str], int], Listener],
                 default_port: int) -> None:
        """`bind(hosts, port)` binds a new listener (raising OSError), unstarted."""
        self.store = store
        self.bind = bind
        self.default_port = default_port
        self.listener: Listener | None = None
        self._lock = threading.Lock()

    def settings(self) -> ListenSettings:
        raw = self.store.trust.get_meta(LISTEN_KEY)
        if raw:
            value = json.loads(raw)
            # Settings stored before ports could be chosen say nothing of it: not chosen.
            return ListenSettings(tuple(value["hosts"]), int(value["port"]),
                                  bool(value.get("chosen", False)))
        return ListenSettings((LOOPBACK,), self.default_port, False)

    def ensure(self, hosts: list[str] | None = None, port: int | None = None) -> None:
        """A running listener on `hosts` (default: as remembered) and `port` (None: as
        remembered; 0: any free one, keeping a running listener's)."""
        with self._lock:
            current = self.settings()
            want = check_hosts(hosts) if hosts is not None else current.hosts
            running = self.listener
            if running is not None and want == current.hosts and port in (None, 0,
                                                                         current.port):
                return
            if port is None:
                target = ListenSettings(want, current.port, current.chosen)
            else:
                target = ListenSettings(want, port, port != 0)
            fresh = self._bind(target, running)
            fresh.start()
            bound = ListenSettings(want, fresh.bound[0][1], target.chosen)
            self.store.trust.set_meta(LISTEN_KEY, json.dumps(bound.to_json()))
            self.listener = fresh
            if running is not None and running is not fresh:
                running.stop()
            logger.info("sync listener on %s", ", ".join(self.addresses()))

    def _bind(self, target: ListenSettings, running: Listener | None) -> Listener:
        try:
            return self.bind(list(target.hosts), target.port)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise BadRequest(f"{', '.join(target.hosts)} is not an address of this "
                                 "computer", param="listen") from None
            if exc.errno != errno.EADDRINUSE:
                raise
        ours = running is not None and target.port in {p for _, p in running.bound}
        if ours and running is not None:
            # Our own listener holds the port (a change of interfaces only): hand it over,
            # and take the old one back if the new one cannot bind.
            old = self.settings()
            running.stop()
            self.listener = None
            try:
                return self.bind(list(target.hosts), target.port)
            except OSError:
                self.listener = self.bind(list(old.hosts), old.port)
                self.listener.start()
                raise PortBusy(self._busy(target)) from None
        if not target.chosen:
            logger.warning("sync port %d is taken; listening on a free port instead",
                           target.port)
            return self.bind(list(target.hosts), 0)
        raise PortBusy(self._busy(target))

    @staticmethod
    def _busy(target: ListenSettings) -> str:
        return (f"port {target.port} on {', '.join(target.hosts)} is in use by another "
                "program (another aw-server, perhaps a --testing one?): choose another "
                "port, or leave the port empty to take a free one")

    def stop(self) -> None:
        with self._lock:
            listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    def addresses(self) -> list[str]:
        listener = self.listener
        if listener is None:
            return []
        out = []
        for host, port in listener.bound:
            if host in (*ALL_INTERFACES, ""):
                out += [f"{ip}:{port}" for ip in lan_addresses()]
            else:
                out.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        return out

    def describe(self) -> dict[str, Any]:
        """What the pairing dialog and the dashboard show: the remembered choice, where
        the listener really is, and the interfaces to choose from."""
        choices = [{"hosts": [LOOPBACK], "label": "This computer only (127.0.0.1)"}]
        choices += [{"hosts": [ip], "label": f"Local network: {ip}"} for ip in lan_addresses()
                    if ip != LOOPBACK]
        choices.append({"hosts": ["0.0.0.0"], "label": "Every network of this computer"})
        return {**self.settings().to_json(), "running": self.listener is not None,
                "addresses": self.addresses(), "choices": choices}


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (no packet is sent)."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            found.append(probe.getsockname()[0])
        except OSError:
            pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    except OSError:
        pass
    out = [ip for ip in dict.fromkeys(found) if not ipaddress.ip_address(ip).is_loopback]
    return out or [LOOPBACK]
