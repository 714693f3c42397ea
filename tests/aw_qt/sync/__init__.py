"""Tests of the tray's sync control and report."""
