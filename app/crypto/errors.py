"""Errors of the encryption layer. Their messages name where a failure happened (table, record
id, field, reason code), never a value, a key or anything read from a record."""

from __future__ import annotations


class DecryptionError(Exception):
    """A sealed value or a wrapped data key could not be opened, so nothing is served.

    Raised for tampered, moved or truncated ciphertexts, for a data key that cannot be unwrapped
    and for a KEK version that is not available. The failure is also written to the audit trail
    (see ``app.crypto.failures``).
    """

    def __init__(self, object_type: str, object_id: str, reason: str) -> None:
        self.object_type, self.object_id, self.reason = object_type, object_id, reason
        super().__init__(f"cannot decrypt {object_type} {object_id} ({reason})")


class KeyDestroyedError(DecryptionError):
    """The record's data key was shredded: its sealed values can never be read again."""
