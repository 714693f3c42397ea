"""Tests of importing and exporting from the tray."""
