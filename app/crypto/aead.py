"""Sealing small values with AES-256-GCM.

Stored form: one format-version byte, a fresh random 96-bit nonce, then ciphertext and tag. The
associated data binds a value to where it belongs (table, record id, field), so a value copied
elsewhere fails to open. Opening fails closed with ``SealError``: never raw bytes, never "".
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value could not be opened: tampered, moved, or under the wrong key."""


def derive_key(root: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from a root key with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"amana/{purpose}".encode()).derive(root)


def seal_with(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` bound to ``aad`` with a ready cipher (callers cache one per key)."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + cipher.encrypt(nonce, plaintext, FORMAT_V1 + aad)


def open_with(cipher: AESGCM, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a value sealed by ``seal_with`` with the same ``aad``, or raise ``SealError``."""
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_V1:
        raise SealError("sealed value has an unknown format")
    try:
        return cipher.decrypt(blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:], FORMAT_V1 + aad)
    except InvalidTag:
        raise SealError("sealed value failed authentication") from None


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` bound to ``aad``."""
    return seal_with(AESGCM(key), plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a value sealed by ``seal`` with the same ``aad``, or raise ``SealError``."""
    return open_with(AESGCM(key), blob, aad)
