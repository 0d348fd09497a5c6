"""The keyring: versioned key-encryption keys (KEKs), one of them active.

KEKs only wrap data keys; they never touch a field. The keyring is the one seam for an external
KMS: everything else calls ``Keyring.wrap`` / ``Keyring.unwrap`` / ``active_version``, and the key
material sits behind a ``KeyProvider`` (``LocalKeyProvider`` reads ``instance/keys/kek_<n>.key``
or ``AMANA_KEY_KEK_<N>``; a KMS provider would implement the same three methods).

Each KEK version known to the database has a row in ``kek_versions`` whose check value is a
constant wrapped under that key. ``verify`` opens every check value: a key that is missing or
different from the one recorded stops the app with one line (``ConfigError``), before any data
key is touched. Retired versions are never used, and their keys are not needed. The active
version is the highest enrolled, unretired version, unless ``KEK_ACTIVE_VERSION`` /
``AMANA_KEK_ACTIVE`` pins one; ``wrap`` reads it from the database in the transaction that
stores the new data key (locking the row against a concurrent ``keys retire``), so servers that
keep running through ``keys rotate`` and ``keys retire`` follow at once. An active version
whose key this server lacks fails closed with one line.

Versions are enrolled (check value written) by migration 0003 for the keys present when it runs,
and by ``flask keys rotate`` for new ones; a key that is present but not enrolled is not used.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.config import ConfigError
from app.crypto.aead import SealError, open_with, seal_with
from app.crypto.models import KekVersion
from app.db import db
from app.keyfiles import KeyFileError, kek_name, load_keks, load_key

EXTENSION = "amana_keyring"
_TX_ACTIVE = "amana_kek_active"  # session.info: (transaction, version) of the last wrap
CHECK_CONSTANT = hashlib.sha256(b"amana/kek-check/v1").digest()


def check_aad(version: int) -> bytes:
    """Associated data of a version's check value."""
    return b"amana/kek-check|%d" % version


class KeyProvider(Protocol):
    """Holds KEK material (in memory, or in a KMS) and wraps or unwraps small secrets with it."""

    def versions(self) -> frozenset[int]:
        """The KEK versions this provider can use now."""
        ...

    def wrap(self, version: int, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` under KEK ``version``, bound to ``aad``."""
        ...

    def unwrap(self, version: int, blob: bytes, aad: bytes) -> bytes:
        """Decrypt ``blob``; raise ``SealError`` when it does not open or ``KeyError`` if unknown."""
        ...


class LocalKeyProvider:
    """KEKs held in process memory, read from the instance folder or the environment."""

    def __init__(self, keys: dict[int, bytes]) -> None:
        self._ciphers = {v: AESGCM(k) for v, k in keys.items()}

    def versions(self) -> frozenset[int]:
        """The loaded versions."""
        return frozenset(self._ciphers)

    def add(self, version: int, key: bytes) -> None:
        """Load one more version (a new key file written by rotation, or found late)."""
        self._ciphers[version] = AESGCM(key)

    def wrap(self, version: int, plaintext: bytes, aad: bytes) -> bytes:
        """AES-256-GCM under the version's KEK."""
        return seal_with(self._ciphers[version], plaintext, aad)

    def unwrap(self, version: int, blob: bytes, aad: bytes) -> bytes:
        """Open a value made by ``wrap``."""
        return open_with(self._ciphers[version], blob, aad)


class Keyring:
    """The KEK versions of one application: which exist, which is active, and the checks.

    Which version is active is the database's answer, read in the transaction that uses it
    (``wrap``), never remembered for the life of the process: a server started before a
    rotation wraps under the new version from its next transaction. What this process keeps is
    only which versions' key material it has already compared with their check values.
    """

    def __init__(self, provider: KeyProvider, *, pinned: int | None = None,
                 instance_path: Path | None = None, production: bool = True) -> None:
        self.provider, self.pinned = provider, pinned
        self._instance, self._production = instance_path, production
        self._verified = False
        self._usable: frozenset[int] = frozenset()
        table = KekVersion.__table__
        stmt = select(table.c.version, table.c.check_value).where(table.c.retired_at.is_(None))
        if pinned is not None:
            stmt = stmt.where(table.c.version == pinned)
        self._unlocked, self._locked = stmt, stmt.with_for_update(read=True)

    @property
    def verified(self) -> bool:
        """Whether the check values have been compared with the keys in this process."""
        return self._verified

    @property
    def active_version(self) -> int:
        """The version new data keys are wrapped under, read from the database now (no lock)."""
        return self._select_active(lock=False)

    def usable_versions(self) -> frozenset[int]:
        """Enrolled, unretired versions whose key is present and correct."""
        if not self._verified:
            self.verify()
        return self._usable

    def check_value(self, version: int) -> bytes:
        """A fresh check value for ``version`` (to enrol it)."""
        return self.provider.wrap(version, CHECK_CONSTANT, check_aad(version))

    def _opens(self, version: int, check: bytes) -> bool:
        try:
            return self.provider.unwrap(version, check, check_aad(version)) == CHECK_CONSTANT
        except SealError:
            return False

    def _late_load(self, version: int) -> bool:
        """Load a key file that appeared after start-up (a rotation run from this host)."""
        if self._instance is None or not isinstance(self.provider, LocalKeyProvider):
            return False
        try:
            key = load_key(kek_name(version), self._instance, production=self._production)
        except KeyFileError:
            return False
        self.provider.add(version, key)
        return True

    def verify(self) -> None:
        """Compare every enrolled, unretired version with its check value.

        Raises ``ConfigError`` (one line) when a key is missing or wrong, when nothing is
        enrolled, or when the pinned version cannot be used. Reads ``kek_versions`` only.
        """
        try:
            with db.session.no_autoflush:
                rows = db.session.execute(
                    select(KekVersion.version, KekVersion.check_value)
                    .where(KekVersion.retired_at.is_(None))).all()
        except SQLAlchemyError:
            raise ConfigError("The encryption keyring cannot be checked: the database is not "
                              "reachable or not migrated (run 'flask --app app db upgrade').") from None
        for version, check in rows:
            self._check(version, check, missing="is in use but missing")
        usable = frozenset(v for v, _ in rows)
        if not usable:
            raise ConfigError("No usable key-encryption key is recorded in this database; run "
                              "'flask --app app db upgrade' or 'flask --app app keys rotate'.")
        if self.pinned is not None and self.pinned not in usable:
            raise ConfigError(f"AMANA_KEK_ACTIVE names version {self.pinned}, which is not an "
                              "enrolled, unretired key here.")
        self._usable, self._verified = usable, True

    def _check(self, version: int, check: bytes, *, missing: str) -> None:
        """Load (late if need be) and compare one version's key with its check value."""
        if version in self._usable:
            return
        if version not in self.provider.versions() and not self._late_load(version):
            raise ConfigError(f"Key-encryption key version {version} {missing} "
                              f"(AMANA_KEY_KEK_{version} or instance/keys/{kek_name(version)}.key).")
        if not self._opens(version, check):
            raise ConfigError(f"Key-encryption key version {version} does not match this database "
                              f"(wrong AMANA_KEY_KEK_{version} or instance/keys/{kek_name(version)}.key).")
        self._usable = self._usable | {version}

    def _select_active(self, *, lock: bool) -> int:
        """The pinned, or highest enrolled unretired, version, read in the current transaction.

        With ``lock`` (PostgreSQL) the unretired rows are locked FOR SHARE until the
        transaction ends, so ``keys retire`` (which locks the row to update it) waits for every
        transaction that wrapped under that version to commit, then counts what they wrote.
        SQLite takes the write lock at BEGIN, which serialises the same way.
        """
        # Core on the session's connection (no ORM layer, no autoflush): this runs once in
        # every transaction that makes a data key (bench/bench_keys.py).
        rows = db.session.connection().execute(self._locked if lock else self._unlocked).all()
        if not rows:
            if self.pinned is not None:
                raise ConfigError(f"AMANA_KEK_ACTIVE names version {self.pinned}, which is not an "
                                  "enrolled, unretired key here.")
            raise ConfigError("No usable key-encryption key is recorded in this database; run "
                              "'flask --app app db upgrade' or 'flask --app app keys rotate'.")
        version, check = max(rows)
        self._check(version, check, missing="is active in the database but missing here; give "
                    "this server the key, as a file (used at once) or a variable (after a "
                    "restart)")
        return int(version)

    def forget(self) -> None:
        """Drop the verification so the next use checks again (after enrolling or retiring)."""
        self._usable, self._verified = frozenset(), False

    def wrap(self, plaintext: bytes, context: bytes) -> tuple[int, bytes]:
        """Wrap under the version the database says is active, read (and locked against
        retirement) in the current transaction; the version is bound into the associated data.

        The answer is kept for the rest of the transaction only (one small query per
        transaction that makes data keys).
        """
        version = self._active_in_transaction()
        return version, self.provider.wrap(version, plaintext, context + b"|kek%d" % version)

    def _active_in_transaction(self) -> int:
        session = db.session()
        current = session.get_nested_transaction() or session.get_transaction()
        cached = session.info.get(_TX_ACTIVE)
        if current is not None and cached is not None and cached[0] is current:
            return int(cached[1])
        version = self._select_active(lock=True)
        session.info[_TX_ACTIVE] = (session.get_nested_transaction() or session.get_transaction(),
                                    version)
        return version

    def unwrap(self, version: int, blob: bytes, context: bytes) -> bytes:
        """Unwrap a value made by ``wrap``; ``SealError`` if it does not open or the version is
        not usable here (retired, unknown or missing)."""
        if version not in self.usable_versions():
            self.forget()  # a rotation elsewhere may have enrolled it since we checked
            if version not in self.usable_versions():
                raise SealError("KEK version not available")
        try:
            return self.provider.unwrap(version, blob, context + b"|kek%d" % version)
        except KeyError:
            raise SealError("KEK version not available") from None


def _pinned(app: Flask) -> int | None:
    raw = app.config.get("KEK_ACTIVE_VERSION") or os.environ.get("AMANA_KEK_ACTIVE")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError("AMANA_KEK_ACTIVE must be a KEK version number.") from None
    if value < 1:
        raise ConfigError("AMANA_KEK_ACTIVE must be a KEK version number.")
    return value


def build_keyring(app: Flask) -> Keyring:
    """Read the KEKs for ``app`` from its instance folder and the environment (no database)."""
    production = app.config["AMANA_ENV"] == "production"
    instance = Path(app.instance_path)
    try:
        keys = load_keks(instance, production=production)
    except KeyFileError as exc:
        raise ConfigError(str(exc)) from None
    if not keys:
        raise ConfigError("No key-encryption key: set AMANA_KEY_KEK_1 or run 'flask instance init'.")
    return Keyring(LocalKeyProvider(keys), pinned=_pinned(app), instance_path=instance,
                   production=production)


def init_keyring(app: Flask) -> None:
    """Load the keyring at start-up, audit failed decryptions at the end of each request, and
    revoke the data keys unwrapped in an app context when it ends.

    Touches no database, so ``flask db upgrade`` works on an empty one; the check values are
    compared by ``check_keyring`` (start-up) or on first use.
    """
    from app.crypto.envelope import revoke_at_teardown
    from app.crypto.failures import install_failure_audit

    app.extensions[EXTENSION] = build_keyring(app)
    app.teardown_appcontext(revoke_at_teardown)  # registered first, so it runs last
    install_failure_audit(app)


def keyring() -> Keyring:
    """The current application's keyring."""
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        raise RuntimeError("init_keyring(app) was not called in create_app")
    assert isinstance(found, Keyring)
    return found


def check_keyring(app: Flask) -> None:
    """Start-up check: raise ``ConfigError`` (one line) unless every enrolled key is right."""
    with app.app_context():
        try:
            app.extensions[EXTENSION].forget()
            app.extensions[EXTENSION].verify()
        finally:
            db.session.remove()


def initial_enrolment(app: Flask) -> list[dict[str, object]]:
    """Rows for ``kek_versions`` enrolling every KEK present now (used by migration 0003)."""
    from app.clock import utcnow

    ring = app.extensions.get(EXTENSION) or build_keyring(app)
    return [{"version": v, "check_value": ring.check_value(v), "created_at": utcnow(),
             "retired_at": None} for v in sorted(ring.provider.versions())]
