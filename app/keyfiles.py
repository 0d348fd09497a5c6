"""Secrets and keys kept in ``instance/keys/`` (mode 0600) or given in the environment.

A key file holds one line: ``amana-key v1 <environment> <base64url>``. Keys made for the demo or
development carry ``development``; production refuses those, so a demo instance folder copied to
a server cannot start. ``AMANA_KEY_<NAME>`` in the environment (base64url of 32 random bytes)
overrides the file; it always counts as a production value.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

KEY_NAMES = ("secret_key", "audit_hmac", "audit_signing", "kek_1", "index_root")
KEY_BYTES = 32
_PREFIX = "amana-key"
# Values that show up in tutorials and must never protect survivor data.
_WEAK = {b"\x00" * KEY_BYTES, b"dev" * 10 + b"de", b"changeme" * 4}


class KeyFileError(Exception):
    """A key is missing, unreadable, malformed or not allowed in this environment."""


def _env_name(name: str) -> str:
    return f"AMANA_KEY_{name.upper()}"


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{where} is not valid base64.") from None
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"{where} must hold exactly {KEY_BYTES} bytes.")
    if raw in _WEAK:
        raise KeyFileError(f"{where} is a known weak value.")
    return raw


def key_path(name: str, instance_path: Path) -> Path:
    """Where the key file for ``name`` lives."""
    return instance_path / "keys" / f"{name}.key"


def load_key(name: str, instance_path: Path, *, production: bool) -> bytes:
    """Read key ``name`` from the environment or the instance folder."""
    from_env = os.environ.get(_env_name(name))
    if from_env:
        return _decode(from_env.strip(), _env_name(name))
    path = key_path(name, instance_path)
    try:
        line = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        hint = "set it in the environment" if production else "run 'make run' or 'flask instance init'"
        raise KeyFileError(f"Key '{name}' is missing ({_env_name(name)} or {path}); {hint}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"Key file {path} cannot be read ({exc.__class__.__name__}).") from None
    parts = line.split(" ")
    if len(parts) != 4 or parts[0] != _PREFIX or parts[1] != "v1":
        raise KeyFileError(f"Key file {path} is not an Amana key file.")
    if production and parts[2] != "production":
        raise KeyFileError(f"Key file {path} holds a development key; production refuses it.")
    return _decode(parts[3], str(path))


def ensure_instance(instance_path: Path, *, environment: str) -> list[str]:
    """Create the instance folder and any missing key file; never overwrite one. Returns new names."""
    label = "production" if environment == "production" else "development"
    keys_dir = instance_path / "keys"
    try:
        instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys_dir.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"Cannot create {keys_dir} ({exc.strerror}).") from None
    if not os.access(keys_dir, os.W_OK | os.X_OK):
        raise KeyFileError(f"Instance folder {keys_dir} is not writable.")
    created = []
    for name in KEY_NAMES:
        path = key_path(name, instance_path)
        value = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")
        try:
            # O_EXCL: two set-ups racing can never overwrite each other's key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise KeyFileError(f"Cannot write {path} ({exc.strerror}).") from None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{_PREFIX} v1 {label} {value}\n")
        created.append(name)
    return created
