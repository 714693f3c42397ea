"""Sync as the tray offers it: pairing, syncing now, and the per-peer status it reports."""
