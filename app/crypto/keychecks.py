"""Check values for the keys other than the KEKs, so a wrong key stops start-up.

The KEKs carry their check values in ``kek_versions`` (``app.crypto.keyring``). The other keys
(``secret_key``, ``audit_hmac``, ``audit_signing``, ``index_root``) have one row each in
``key_checks``, written by migration 0010 (with a frozen copy of ``check_value``) for the keys
present when it ran:

- ``audit_signing`` (an Ed25519 seed): SHA-256 of its public key, which is public anyway;
- the others: HMAC-SHA256 under the key of a constant naming it, truncated to 128 bits. The
  constant is shorter than anything the key MACs in use (an audit MAC covers the previous
  32-byte MAC and more; blind indexes use keys derived by HKDF; Flask signs with HMAC-SHA1 of
  derived keys), so a check value neither reveals the key nor forges anything.

``check_keys`` (start-up, ``app.startup.check_ready``; ``compare_keys`` in commands) refuses, with one line
naming the key and where it was read from, a key that does not match or has no check value.
``refuse_recorded`` stops ``ensure_instance`` from creating a key the database already has a
check value (or, for a KEK, an enrolled version) for: a new random key would not be the one the
data was made with. ``secret_key`` is checked too, so every host of a deployment is seen to
share it; it alone may be replaced on purpose (sessions end), with ``keys enrol secret_key
--replace``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.config import ConfigError
from app.crypto.models import KeyCheck
from app.db import db
from app.keyfiles import SECRET_NAMES, key_source

CHECKED = SECRET_NAMES
REPLACEABLE = frozenset({"secret_key"})  # nothing stored depends on it: sessions just end
_DOMAIN = b"amana/key-check/v1|"


class KeyCheckError(Exception):
    """A check value cannot be written; the message is one line for the operator."""


def check_value(name: str, key: bytes) -> bytes:
    """The check value of key ``name`` (never something that helps recover the key)."""
    if name == "audit_signing":
        public = Ed25519PrivateKey.from_private_bytes(key).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(_DOMAIN + b"audit_signing|" + public).digest()
    return hmac.digest(key, _DOMAIN + name.encode("ascii"), "sha256")[:16]


def _key(app: Flask, name: str) -> bytes:
    value = app.config[f"KEY_{name.upper()}"]
    assert isinstance(value, bytes)
    return value


def check_keys(app: Flask) -> None:
    """Start-up: raise ``ConfigError`` (one line) unless every checked key matches its check
    value (in an application context and session of its own)."""
    with app.app_context():
        try:
            compare_keys(app)
        finally:
            db.session.remove()


def compare_keys(app: Flask, *, skip: str | None = None) -> None:
    """``check_keys`` in the current session (for commands, which already hold one), leaving
    out key ``skip`` (the one ``keys enrol`` is about to record)."""
    try:
        with db.session.no_autoflush:
            stored = {row.name: row.check_value for row in
                      db.session.execute(sa.select(KeyCheck.name, KeyCheck.check_value))}
    except SQLAlchemyError:
        raise ConfigError("The keys cannot be checked: the database is not reachable or not "
                          "migrated (run 'flask --app app db upgrade').") from None
    instance = Path(app.instance_path)
    for name in CHECKED:
        if name == skip:
            continue
        where = key_source(name, instance)
        found = stored.get(name)
        if found is None:
            raise ConfigError(f"Key '{name}' has no check value in this database; if {where} holds "
                              f"the key the data was made with, run 'flask --app app keys enrol {name}'.")
        if not hmac.compare_digest(found, check_value(name, _key(app, name))):
            hint = (f"restore the right one, or after replacing it on purpose run 'flask --app app "
                    f"keys enrol {name} --replace'" if name in REPLACEABLE
                    else "restore the key this database was made with")
            raise ConfigError(f"Key '{name}' (read from {where}) does not match this database; "
                              f"{hint}.")


def enrol(name: str, *, replace: bool) -> bool:
    """Write the check value of the current app's key ``name`` (in the caller's transaction).

    Returns False when the stored value already matches. Refuses to replace a different one
    unless ``replace`` and the key is replaceable (``secret_key``).
    """
    from app.clock import utcnow

    if name not in CHECKED:
        raise KeyCheckError(f"'{name}' is not a checked key ({', '.join(CHECKED)}).")
    value = check_value(name, _key(current_app, name))
    row = db.session.get(KeyCheck, name)
    if row is not None and hmac.compare_digest(row.check_value, value):
        return False
    if row is not None and not (replace and name in REPLACEABLE):
        raise KeyCheckError(
            f"Key '{name}' does not match the check value already in this database; "
            + ("give --replace to accept the new key (every session ends)." if name in REPLACEABLE
               else "restore the key the data was made with (it cannot be replaced)."))
    if row is None:
        db.session.add(KeyCheck(name=name, check_value=value, created_at=utcnow()))
    else:
        row.check_value, row.created_at = value, utcnow()
    return True


def recorded_keys(uri: str, what: str) -> tuple[set[str], list[int]]:
    """(names in ``key_checks``, unretired versions in ``kek_versions``) of the database at
    ``uri``, read without the app (before it is configured); nothing if it has no such tables
    or (SQLite) no file yet. ``what`` names the keys for the one-line error if it cannot be read.
    """
    url = sa.make_url(uri)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:") or path.startswith("file:") or not Path(path).exists():
            return set(), []
    args = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
    engine = sa.create_engine(url, poolclass=NullPool, connect_args=args)
    checks = sa.table("key_checks", sa.column("name", sa.String()))
    keks = sa.table("kek_versions", sa.column("version", sa.Integer()),
                    sa.column("retired_at", sa.DateTime()))
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            names = (set(conn.execute(sa.select(checks.c.name)).scalars())
                     if inspector.has_table("key_checks") else set())
            versions = (sorted(conn.execute(sa.select(keks.c.version)
                                            .where(keks.c.retired_at.is_(None))).scalars())
                        if inspector.has_table("kek_versions") else [])
    except SQLAlchemyError as exc:
        from app.dbsetup import unreachable

        reason = unreachable(exc, uri).message.rstrip(".")  # where and why, no password
        raise ConfigError(f"{reason}; cannot tell whether {what} already in use, so no key "
                          "was created.") from None
    finally:
        engine.dispose()
    return names, versions


def refuse_recorded(uri: str, instance_path: Path) -> Callable[[list[str]], None]:
    """A ``refuse`` callback for ``ensure_instance``: raise ``ConfigError`` (one line, nothing
    created) when the database at ``uri`` already has data made with a key about to be made."""

    def refuse(missing: list[str]) -> None:
        names, versions = recorded_keys(uri, "key(s) " + ", ".join(missing) + " are")
        if "kek_1" in missing and versions:
            shown = ", ".join(f"kek_{v}" for v in versions)
            raise ConfigError(f"No key-encryption key in {instance_path / 'keys'} or the "
                              f"environment, but this database has data under {shown}; restore "
                              "them from your key backup (a new key would not open that data).")
        for name in missing:
            if name in names:
                raise ConfigError(f"Key '{name}' is missing ({key_source(name, instance_path)}) "
                                  "but this database holds data made with it; restore it from "
                                  "your key backup (a new key would not match).")

    return refuse
