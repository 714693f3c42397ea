"""The datastore: the only place that reads or writes the database.

`Datastore` is a composition, not a class hierarchy: the `Database` (connections, the
one writer, the change sequence), one `BucketCache` every part shares, and one store
per concern, each with its own state and contract:

- `buckets`  (`BucketStore`)   own buckets;
- `events`   (`EventStore`)    own events and heartbeats;
- `settings` (`SettingsStore`) the settings table;
- `imports`  (`ImportStore`)   the database side of file import;
- `sync`     (`SyncStore`)     applying what peers send; `trust` (`TrustStore`) peers,
  keys and revocations; `deltas` (`DeltaReader`) reading what peers lack;
- `origins`  (`OriginReader`)  which devices' data is held, and their buckets;
- `source`   (`StoreSource`)   the query language's `EventSource` view.

Every mutation of an own row takes the next change-sequence number in its own
transaction, here and nowhere else, so the API, import and the dashboard all leave the
same trail for sync to read.
"""

from __future__ import annotations

from pathlib import Path

from aw_server.datastore.buckets import BucketStore
from aw_server.datastore.cache import BucketCache
from aw_server.datastore.database import Database
from aw_server.datastore.events import EventStore
from aw_server.datastore.imports.store import ImportStore
from aw_server.datastore.origins import OriginReader
from aw_server.datastore.settings import SettingsStore
from aw_server.datastore.source import StoreSource
from aw_server.datastore.sync_read import DeltaReader
from aw_server.datastore.sync_store import SyncStore
from aw_server.datastore.sync_trust import TrustStore
from aw_server.models import DEFAULT_MAX_EVENT_BYTES


class Datastore:
    """One database file and the stores over it (see the module docstring)."""

    def __init__(self, path: Path | str, *, durability: str = "normal",
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
                 private_dir: bool = False) -> None:
        """`private_dir`: the database's folder is the data folder, kept at 0700."""
        self.db = Database(path, durability=durability, private_dir=private_dir)
        self.max_event_bytes = max_event_bytes
        self.cache = BucketCache(self.db)
        self.buckets = BucketStore(self.db, self.cache, max_event_bytes)
        self.events = EventStore(self.db, self.cache, max_event_bytes)
        self.settings = SettingsStore(self.db, self.cache)
        self.imports = ImportStore(self.db, self.cache, self.buckets, max_event_bytes)
        self.trust = TrustStore(self.db, self.cache)
        self.sync = SyncStore(self.db, self.cache, self.trust)
        self.deltas = DeltaReader(self.db, max_event_bytes)
        self.origins = OriginReader(self.db)
        self.source = StoreSource(self.buckets, self.events)

    @property
    def device_id(self) -> str:
        return self.db.device_id

    def close(self) -> None:
        self.db.close()
