"""Sync's own domain errors, in a module that imports nothing of sync.

They live apart from the code that raises them so that the HTTP layer's status mapping
(`aw_server/http/statuses.py`) can name them without importing the sync machinery,
which itself answers with those statuses.
"""

from __future__ import annotations

from aw_server.errors import AWError


class PeerError(AWError):
    """The peer could not be reached or refused us; `code` is its error word."""

    error_type = "SyncPeerError"

    def __init__(self, message: str, *, code: str = "error", trusted: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.trusted = trusted  # the refusal was sealed by the peer


class PairingClosed(AWError):
    """No pairing window is open (never opened, expired, used, or out of tries)."""

    error_type = "PairingClosed"


class TooManyRequests(AWError):
    error_type = "TooManyRequests"


class DiscoveryUnavailable(AWError):
    error_type = "DiscoveryUnavailable"


class KeyChanged(AWError):
    """A paired device signs with another key than the one it paired with."""

    error_type = "key_changed"
