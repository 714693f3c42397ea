"""The local time-tracking server: ActivityWatch's REST API over SQLite."""

__version__ = "0.1.0"
