"""Devices as one idea: this server and every device whose data sync brought here.

ActivityWatch knows hosts only as a `hostname` field on buckets, so two laptops both
called "laptop" merge and a renamed host splits in two. Sync already keys everything by
device id (docs/sync.md §1-§2); this module puts together what the datastore and sync
record about each device id (its buckets, the label the user gave it, pairing state,
last sync, clock skew, revocation) into one list, for the HTTP API
(`GET /api/0/devices`), the tray and third-party tools.

Pure domain code: no web framework and no sync libraries (`cryptography`, `spake2`), so
the list is there even on a server that cannot sync, and reads nothing but the datastore.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aw_server.datastore.origins import OriginDevice
from aw_server.datastore.store import Datastore
from aw_server.datastore.sync_items import short_device_id
from aw_server.datastore.sync_trust import PeerRow
from aw_server.errors import NoSuchBucket
from aw_server.models import format_us

SKEW_WARNING_S = 60.0  # sync warns about a peer's clock beyond this (docs/sync.md §10)

# `sync_peer.state` as this list names it: "revoked" there also means "this device
# unpaired it", which is not a revocation (a revocation is in `sync_revocation`).
_PEER_STATES = {"active": "paired", "removed": "removed", "revoked": "unpaired"}


def default_label(name: str, device_id: str) -> str:
    """How a device is shown until the user names it: several devices often share a name."""
    return f"{name or 'device'} ({short_device_id(device_id)})"


def _iso_seconds(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


def _time_range(store: Datastore, buckets: list[str]) -> tuple[str | None, str | None]:
    """First event start and last event end over `buckets`, from the index only."""
    firsts: list[int] = []
    lasts: list[int] = []
    for bucket_id in buckets:
        try:
            first, last = store.buckets.time_span(bucket_id)
        except NoSuchBucket:  # purged or deleted since the bucket list was read
            continue
        if first is not None:
            firsts.append(first)
        if last is not None:
            lasts.append(last)
    return (format_us(min(firsts)) if firsts else None,
            format_us(max(lasts)) if lasts else None)


def _state(peer: PeerRow | None, revoked: bool) -> str:
    if revoked:
        return "revoked"
    if peer is None:  # also an unpaired device whose pairing row was forgotten (30 days)
        return "relayed"
    return _PEER_STATES.get(peer.state, peer.state)


def _device(store: Datastore, origin: OriginDevice, peer: PeerRow | None,
            revocation: dict[str, Any] | None, this_hostname: str) -> dict[str, Any]:
    """One entry of the list (shape documented in docs/api.md, "Devices")."""
    device_id = origin.device_id
    if origin.is_self:
        hostname = this_hostname
    elif peer is not None:
        hostname = peer.name  # what the device called itself when it paired
    else:
        hostname = origin.hostname or (origin.hostnames[-1] if origin.hostnames else "")
    label = (peer.label if peer is not None else "") or origin.label \
        or default_label(hostname, device_id)
    first, last = _time_range(store, origin.buckets)
    skew = None if peer is None else peer.skew
    return {
        "device_id": device_id,
        "label": label,
        "hostname": hostname,
        "hostnames": origin.hostnames,
        "is_this_device": origin.is_self,
        "state": "this_device" if origin.is_self else _state(peer, revocation is not None),
        "buckets": origin.buckets,
        "purged": origin.purged,
        "first_event": first,
        "last_event": last,
        "last_sync": None if peer is None else _iso_seconds(peer.last_sync),
        "clock_skew": skew,
        "skew_warning": skew is not None and abs(skew) > SKEW_WARNING_S,
        "revoked": revocation,
    }


def list_devices(store: Datastore, hostname: str) -> list[dict[str, Any]]:
    """This device first, then every other device known here: those whose data is held
    (paired, relayed, unpaired or revoked; purged ones with `buckets: []`) in the order
    they were first seen, then paired devices nothing has come from yet. Keyed by device
    id, never by hostname. `hostname` is this server's."""
    peers = {p.device_id: p for p in store.trust.peers()}
    revocations = {r.device_id: {"by": r.by_device, "at": format_us(r.at)}
                   for r in store.trust.revocations()}
    origins = store.origins.devices()
    known = {o.device_id for o in origins}
    origins += [OriginDevice(p.device_id, False, "", "", False)
                for p in peers.values() if p.device_id not in known]
    return [_device(store, o, peers.get(o.device_id), revocations.get(o.device_id), hostname)
            for o in origins]
