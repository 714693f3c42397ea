"""Device-to-device sync (docs/sync.md); the entry point is `service.SyncService`."""
