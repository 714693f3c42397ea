"""What the tray says about a sync with several devices: one message, failures first.

A balloon replaces the one before it, so one message per device let a success hide
the failure shown a few milliseconds earlier. Here every outcome of one round goes into
a single Notice, ordered so that what needs the user's attention comes first.

Devices are ordered by their label where the sync status has one, else by what the
menu shows (name, then short device id); `peer_sort_key` is that one rule, used for
the Sync submenu as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aw_qt.background_call import Notice

MAX_ERROR_CHARS = 200


def peer_name(row: Mapping[str, Any]) -> str:
    """The name the tray uses for a device: its label, else its name, else a short id."""
    return str(row.get("label") or row.get("name") or str(row["device_id"])[:8])


def peer_sort_key(row: Mapping[str, Any]) -> tuple[str, str]:
    label = row.get("label")
    if label:
        return str(label).casefold(), str(row["device_id"])
    name = str(row.get("name") or "")
    return f"{name} {str(row['device_id'])[:8]}".strip().casefold(), str(row["device_id"])


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class PeerOutcome:
    device_id: str
    name: str
    error: str  # "" when it worked
    received: int
    sent: int


def outcomes(results: Mapping[str, Any] | Iterable[Mapping[str, Any]],
             rows: Mapping[str, Mapping[str, Any]]) -> list[PeerOutcome]:
    """The per-device results of `POST /api/0/sync/now` (`wait: true`), failures first,
    then in the menu's order. `results` is keyed by device id, or a list of entries
    that each carry their `device_id`; `rows` are the peers' status rows by id."""
    if isinstance(results, Mapping):
        entries = [{"device_id": key, **value} for key, value in results.items()]
    else:
        entries = [dict(entry) for entry in results]
    found = []
    for entry in entries:
        device_id = str(entry["device_id"])
        row = {**entry, **rows.get(device_id, {}), "device_id": device_id}
        found.append((peer_sort_key(row), PeerOutcome(
            device_id, peer_name(row), str(entry.get("error") or ""),
            int(entry.get("pulled_items", 0)), int(entry.get("pushed_items", 0)))))
    found.sort(key=lambda item: (not item[1].error, item[0]))
    return [outcome for _key, outcome in found]


def _changes(n: int) -> str:
    return f"{n} change{'' if n == 1 else 's'}"


def _failed(name: str, error: str) -> str:
    return f"Sync with {name} failed: {shorten(error, MAX_ERROR_CHARS)}"


def _line(outcome: PeerOutcome) -> str:
    if outcome.error:
        return _failed(outcome.name, outcome.error)
    return (f"Synced with {outcome.name}: {_changes(outcome.received)} received, "
            f"{outcome.sent} sent.")


def summary(done: list[PeerOutcome]) -> Notice:
    """One notice for one round of syncing (`done` as `outcomes` orders it)."""
    if not done:
        return Notice("Sync", "No paired device to sync with.")
    failed = sum(1 for o in done if o.error)
    if len(done) == 1:
        return Notice("Sync failed" if failed else "Sync", _line(done[0]))
    if failed:
        title = f"Sync failed with {failed} of {len(done)} devices"
    else:
        title = f"Synced with {len(done)} devices"
    return Notice(title, "\n".join(_line(o) for o in done))


def failures(errors: list[tuple[str, str]]) -> Notice:
    """Devices whose scheduled sync newly failed, (name, error) in the menu's order."""
    title = "Sync failed" if len(errors) == 1 else f"Sync failed with {len(errors)} devices"
    return Notice(title, "\n".join(_failed(name, error) for name, error in errors))
