"""Encryption: AES-256-GCM sealing with bound associated data, key derivation."""
