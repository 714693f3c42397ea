"""Tests of finding, running and supervising the watcher modules."""
