"""Optional LAN discovery: zeroconf `_awsync._tcp`, so pairing can pick a device from a list.

Optional at runtime: without the `zeroconf` package `available()` is False, nothing is
advertised and browsing raises `DiscoveryUnavailable` (503); typing an address always works.

A device advertises itself only while its pairing window is open (and on the listener's
interfaces), so it does not announce its presence on every network it joins. The record
names the device (hostname) and its device id; it carries no secret. Discovery is a
convenience, never trust: pairing still needs the one-time code.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from aw_server.sync.errors import DiscoveryUnavailable

logger = logging.getLogger(__name__)

SERVICE = "_awsync._tcp.local."

try:
    import zeroconf  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # optional dependency
    zeroconf = None  # type: ignore[assignment]


def available() -> bool:
    return zeroconf is not None


def _interfaces(hosts: list[str]) -> Any:
    assert zeroconf is not None
    if not hosts or any(h in ("0.0.0.0", "::", "") for h in hosts):
        return zeroconf.InterfaceChoice.All
    return [h for h in hosts if ":" not in h] or zeroconf.InterfaceChoice.All


def _instance_name(name: str, device_id: str) -> str:
    clean = "".join(c for c in name if c.isalnum() or c in "-_")[:40] or "device"
    return f"{clean}-{device_id[:8]}.{SERVICE}"


class Advertiser:
    """Announces this device while a pairing window is open; `stop()` withdraws it."""

    def __init__(self) -> None:
        self._zc: Any = None
        self._info: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def start(self, device_id: str, name: str, bound: list[tuple[str, int]],
              hosts: list[str], seconds: float) -> bool:
        if zeroconf is None or not bound:
            return False
        self.stop()
        port = bound[0][1]
        addresses = [socket.inet_aton(h) for h, _ in bound if h not in ("0.0.0.0", "")
                     and ":" not in h]
        try:
            zc = zeroconf.Zeroconf(interfaces=_interfaces(hosts),
                                   ip_version=zeroconf.IPVersion.V4Only)
            info = zeroconf.ServiceInfo(
                SERVICE, _instance_name(name, device_id), port=port,
                addresses=addresses or None,
                properties={"id": device_id, "name": name[:100], "proto": "1"},
                server=None if addresses else f"{socket.gethostname()}.local.")
            zc.register_service(info)
        except (OSError, zeroconf.Error, ValueError) as exc:
            logger.info("could not advertise on the LAN: %s", exc)
            return False
        with self._lock:
            self._zc, self._info = zc, info
            self._timer = threading.Timer(seconds, self.stop)
            self._timer.daemon = True
            self._timer.start()
        return True

    def stop(self) -> None:
        with self._lock:
            zc, info, timer = self._zc, self._info, self._timer
            self._zc = self._info = self._timer = None
        if timer is not None:
            timer.cancel()
        if zc is not None:
            with contextlib.suppress(Exception):
                zc.unregister_service(info)
            zc.close()


def browse(seconds: float = 2.0, hosts: list[str] | None = None,
           exclude: str = "") -> list[dict[str, Any]]:
    """Devices with an open pairing window on the LAN: `[{name, device_id, address}]`."""
    if zeroconf is None:
        raise DiscoveryUnavailable("LAN discovery needs the optional 'zeroconf' package; "
                                   "type the other device's address instead")
    found: dict[str, dict[str, Any]] = {}
    names: list[str] = []

    class Listener(zeroconf.ServiceListener):  # type: ignore[misc,unused-ignore]
        def add_service(self, zc: Any, type_: str, name: str) -> None:
            names.append(name)

        def update_service(self, zc: Any, type_: str, name: str) -> None:
            names.append(name)

        def remove_service(self, zc: Any, type_: str, name: str) -> None:
            pass

    zc = zeroconf.Zeroconf(interfaces=_interfaces(hosts or []),
                           ip_version=zeroconf.IPVersion.V4Only)
    try:
        browser = zeroconf.ServiceBrowser(zc, SERVICE, Listener())
        time.sleep(max(0.1, min(seconds, 10.0)))
        for name in dict.fromkeys(names):
            info = zc.get_service_info(SERVICE, name, timeout=1000)
            if info is None:
                continue
            props = {k.decode(): (v or b"").decode("utf-8", "replace")
                     for k, v in info.properties.items()}
            device_id = props.get("id", "")
            if not device_id or device_id == exclude:
                continue
            for address in info.parsed_addresses():
                found[device_id] = {"name": props.get("name", ""), "device_id": device_id,
                                    "address": f"{address}:{info.port}"}
                break
        browser.cancel()
    finally:
        zc.close()
    return sorted(found.values(), key=lambda d: (d["name"], d["device_id"]))
