"""The datastore: all SQL, and nothing above it (no query engine, transfer, sync or HTTP).

Start at `store.py`: `Datastore` is the `Database` plus one store per concern, all
sharing one `BucketCache`. The modules, bottom up:

- `schema.py`      tables, indexes and migrations (`PRAGMA user_version`)
- `migrate_interning.py` the batched, resumable migration to version 6
- `upgrade.py`     asking whether a file needs a slow upgrade, and running it with progress
- `interning.py`   event data stored once per distinct text (`event_data`), `DataInterner`
- `database.py`    connections, the one writer, the change sequence
- `rows.py`        stored rows <-> models, JSON text and its size limit
- `cache.py`       `BucketCache`: live buckets, newest events, next event id
- `buckets.py`     `BucketStore` (`store.buckets`): own buckets
- `events.py`      `EventStore` (`store.events`): own events, heartbeats, range reads
- `columns.py`     a bucket range read straight into an `EventTable` (query worker only)
- `settings.py`    `SettingsStore` (`store.settings`)
- `sync_items.py`  sync items in their signed form, digests, `SyncGap`/`SyncRejected`
- `sync_store.py`  `SyncStore` (`store.sync`): applying verified batches to mirrors
- `sync_trust.py`  `TrustStore` (`store.trust`): peers, keys, revocations, skipped items
- `sync_read.py`   `DeltaReader` (`store.deltas`): what a peer lacks, as batch texts
- `origins.py`     `OriginReader` (`store.origins`): devices whose data is held, their buckets
- `imports/`       `ImportStore` (`store.imports`): the SQL side of file import (job rows,
  the staging file, direct and windowed publishing)
- `store.py`       `Datastore`, the stores composed on one database
- `source.py`      `StoreSource` (`store.source`), the query language's `EventSource`, and
  `QueryStore`, the query worker's database: only the bucket and event stores
"""
