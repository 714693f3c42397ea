"""Tests of aw_qt."""
