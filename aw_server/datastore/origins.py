"""`OriginReader` (`store.origins`): which devices this database holds data of, and which
of its live buckets belong to each, for the devices list (`aw_server/devices.py`).

Read-only. A device is a `device_id`, not a log: one device may have had several logs
(a restored database starts a new one, docs/sync.md §6), so rows are grouped by device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aw_server.datastore.database import Database


@dataclass(slots=True)
class OriginDevice:
    """What the `origin` and `bucket` tables say about one device.

    `buckets` and `hostnames` are in bucket creation order (the order of `bucket.key`,
    the order `GET /api/0/buckets/` lists them in); `purged` is True when every log of
    the device was purged here (unpair with purge), so nothing of it is kept."""

    device_id: str
    is_self: bool
    label: str
    hostname: str
    purged: bool
    buckets: list[str] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)


class OriginReader:
    """Reads `origin` and `bucket` rows; writes nothing, so it needs no cache."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def devices(self) -> list[OriginDevice]:
        """Every device with an origin row: this one first, then by first sight here (the
        lowest origin id), so the order stays put across syncs."""
        conn = self.db.conn()
        found: dict[str, OriginDevice] = {}
        for device_id, is_self, blocked, label, hostname in conn.execute(
            "SELECT device_id, is_self, blocked, label, hostname FROM origin "
            "ORDER BY is_self DESC, id"
        ):
            device = found.get(device_id)
            if device is None:
                device = found[device_id] = OriginDevice(
                    device_id, bool(is_self), label, hostname, True)
            device.is_self = device.is_self or bool(is_self)
            device.purged = device.purged and bool(blocked) and not is_self
            device.label = device.label or label
            device.hostname = device.hostname or hostname
        for bucket_id, hostname, device_id in conn.execute(
            "SELECT b.id, b.hostname, o.device_id FROM bucket b JOIN origin o "
            "ON o.id = b.origin WHERE b.deleted = 0 ORDER BY b.key"
        ):
            device = found[device_id]
            device.buckets.append(bucket_id)
            if hostname not in device.hostnames:
                device.hostnames.append(hostname)
        return list(found.values())
