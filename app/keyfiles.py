"""Secrets and keys kept in ``instance/keys/`` (mode 0600) or given in the environment.

A key file holds one line: ``amana-key v1 <environment> <base64url>``. Keys made for the demo or
development carry ``development``; production refuses those, so a demo instance folder copied to
a server cannot start. ``AMANA_KEY_<NAME>`` in the environment (base64url of 32 random bytes)
overrides the file; it always counts as a production value.

Key-encryption keys are versioned: ``kek_1``, ``kek_2``, ... (files ``kek_<n>.key`` or
``AMANA_KEY_KEK_<N>``). ``kek_versions`` finds them and ``create_key`` adds a new one (the
keyring and ``flask keys rotate`` use these; nothing here knows what a key is for). Only the
enrolled, unretired versions are required (the keyring checks them); ``kek_1`` is created only
when no KEK exists at all.

``ensure_instance`` creates missing keys, but first hands their names to a ``refuse`` callback
(the app passes one that asks the database whether data was already made with them), so a
destroyed key is never silently replaced by a new one.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

# The keys an instance folder starts with (``flask instance init``).
KEY_NAMES = ("secret_key", "audit_hmac", "audit_signing", "kek_1", "index_root")
# The keys every start needs, whatever happened since (KEKs are the keyring's business).
SECRET_NAMES = ("secret_key", "audit_hmac", "audit_signing", "index_root")
KEY_BYTES = 32
_PREFIX = "amana-key"
# Values that show up in tutorials and must never protect survivor data.
_WEAK = {b"\x00" * KEY_BYTES, b"dev" * 10 + b"de", b"changeme" * 4}
_KEK_FILE = re.compile(r"kek_([1-9][0-9]{0,5})\.key")
_KEK_ENV = re.compile(r"AMANA_KEY_KEK_([1-9][0-9]{0,5})")


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


def key_source(name: str, instance_path: Path) -> str:
    """Where key ``name`` is read from: its environment variable when set, else its file."""
    return _env_name(name) if os.environ.get(_env_name(name)) else str(key_path(name, instance_path))


def missing_keys(instance_path: Path) -> list[str]:
    """Keys ``ensure_instance`` would create: a secret with neither variable nor file, and
    ``kek_1`` when no KEK version is present at all."""
    no_kek = not kek_versions(instance_path)
    return [name for name in KEY_NAMES
            if (name == "kek_1" and no_kek) or (
                name in SECRET_NAMES and not os.environ.get(_env_name(name))
                and not key_path(name, instance_path).exists())]


def load_key(name: str, instance_path: Path, *, production: bool) -> bytes:
    """Read key ``name`` from the environment or the instance folder."""
    from_env = os.environ.get(_env_name(name))
    if from_env:
        return _decode(from_env.strip(), _env_name(name))
    path = key_path(name, instance_path)
    try:
        line = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        hint = ("set it in the environment or run 'AMANA_ENV=production flask --app app instance init'"
                if production else "run 'flask --app app instance init'")
        raise KeyFileError(f"Key '{name}' is missing ({_env_name(name)} or {path}); {hint}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"Key file {path} cannot be read ({exc.__class__.__name__}).") from None
    parts = line.split(" ")
    if len(parts) != 4 or parts[0] != _PREFIX or parts[1] != "v1":
        raise KeyFileError(f"Key file {path} is not an Amana key file.")
    if production and parts[2] != "production":
        raise KeyFileError(f"Key file {path} holds a development key; production refuses it.")
    return _decode(parts[3], str(path))


def _label(environment: str) -> str:
    return "production" if environment == "production" else "development"


def _write_new(path: Path, label: str) -> bool:
    """Write a fresh random key to ``path`` unless it exists; True when written."""
    value = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")
    try:
        # O_EXCL: two set-ups racing can never overwrite each other's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise KeyFileError(f"Cannot write {path} ({exc.strerror}).") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"{_PREFIX} v1 {label} {value}\n")
    return True


def _private(folder: Path) -> None:
    """Production: the folder is readable by its owner only (0700), even if it existed before."""
    if stat.S_IMODE(folder.stat().st_mode) != 0o700:
        folder.chmod(0o700)


def ensure_instance(instance_path: Path, *, environment: str,
                    refuse: Callable[[list[str]], None] | None = None) -> list[str]:
    """Create the instance folder (0700) and any missing key file (0600); never overwrite one.

    ``refuse`` is called first with the names about to be created and may raise to stop
    (nothing is created then). In production the instance and key folders are made private
    (0700) even when they already existed. Returns the names created.
    """
    keys_dir = instance_path / "keys"
    try:
        missing = missing_keys(instance_path)
    except KeyFileError:
        missing = list(KEY_NAMES)  # the folder is unreadable: the mkdir below says so
    if missing and refuse is not None:
        refuse(missing)
    try:
        instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys_dir.mkdir(mode=0o700, exist_ok=True)
        if environment == "production":
            _private(instance_path)
            _private(keys_dir)
    except OSError as exc:
        raise KeyFileError(f"Cannot create {keys_dir} ({exc.strerror}).") from None
    if not os.access(keys_dir, os.W_OK | os.X_OK):
        raise KeyFileError(f"Instance folder {keys_dir} is not writable.")
    return [name for name in missing_keys(instance_path)
            if _write_new(key_path(name, instance_path), _label(environment))]


def check_present_keys(instance_path: Path, *, production: bool) -> None:
    """Read every key that is present (variable or file) with the rules of ``load_key``, so a
    refused one (a development key in production, a weak or malformed one) stops ``instance
    init`` before it creates anything."""
    for name in SECRET_NAMES:
        if os.environ.get(_env_name(name)) or key_path(name, instance_path).exists():
            load_key(name, instance_path, production=production)
    load_keks(instance_path, production=production)


def kek_name(version: int) -> str:
    """The key name of KEK ``version`` (``kek_3``)."""
    if version < 1:
        raise ValueError("KEK versions start at 1")
    return f"kek_{version}"


def kek_versions(instance_path: Path) -> list[int]:
    """Every KEK version present as a file in ``instance/keys`` or in the environment, sorted."""
    found = {int(m.group(1)) for name, value in os.environ.items()
             if value.strip() and (m := _KEK_ENV.fullmatch(name))}
    try:
        names = [p.name for p in (instance_path / "keys").iterdir()]
    except FileNotFoundError:
        names = []
    except OSError as exc:
        raise KeyFileError(f"Cannot list {instance_path / 'keys'} ({exc.strerror}).") from None
    found.update(int(m.group(1)) for m in map(_KEK_FILE.fullmatch, names) if m)
    return sorted(found)


def load_keks(instance_path: Path, *, production: bool) -> dict[int, bytes]:
    """Every KEK found by ``kek_versions``, read with the rules of ``load_key``."""
    return {v: load_key(kek_name(v), instance_path, production=production)
            for v in kek_versions(instance_path)}


def create_key(name: str, instance_path: Path, *, environment: str) -> Path:
    """Write a new random key file ``name`` (mode 0600); refuse if it exists. Returns its path."""
    path = key_path(name, instance_path)
    if not path.parent.is_dir():
        raise KeyFileError(f"Key folder {path.parent} does not exist; run 'flask instance init'.")
    if not _write_new(path, _label(environment)):
        raise KeyFileError(f"Key file {path} already exists; keys are never overwritten.")
    return path
