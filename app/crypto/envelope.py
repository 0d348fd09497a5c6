"""Envelope encryption: each record owns a random 256-bit data key, stored only wrapped.

``new_data_key()`` makes one (wrapped under the active KEK, bound to its own id and the KEK
version); sealed fields find the key through ``cipher(data_key_id)``, which unwraps once per
request (or CLI command) and caches the cipher on the application context. ``shred()`` destroys
a data key for good: its wrapped form becomes NULL and the owner's blind-index entries go, so
no copy of the owner's sealed values can be read again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from flask.globals import _cv_app
from sqlalchemy import Engine, delete, event, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.clock import utcnow
from app.crypto.aead import SealError
from app.crypto.failures import failed
from app.crypto.keyring import keyring
from app.crypto.models import BlindIndexEntry, DataKey
from app.db import db

DATA_KEY_BYTES = 32
_CACHE = "_amana_data_keys"
_CHECKPOINT_PENDING = "amana_wal_checkpoint"


def wrap_context(data_key_id: uuid.UUID) -> bytes:
    """Associated data binding a wrapped data key to its id (the keyring adds the KEK version)."""
    return b"amana/data-key|" + data_key_id.bytes


class Unwrapped:
    """A data key unwrapped in this app context and its cipher, until revoked.

    Sealers kept on records (``app.crypto.sealed.Sealer``) hold this entry rather than the key,
    so revoking it (``shred``, ``forget_unwrapped``, the end of the app context) reaches every
    copy at once: a revoked entry has neither key nor cipher, and its holders ask again.
    """

    __slots__ = ("raw", "cipher")

    def __init__(self, raw: bytes) -> None:
        self.raw: bytes | None = raw
        self.cipher: AESGCM | None = AESGCM(raw)

    def revoke(self) -> None:
        """Drop the key and the cipher (the bytes are freed once no one holds them)."""
        self.raw = self.cipher = None


REVOKED = Unwrapped(bytes(DATA_KEY_BYTES))
REVOKED.revoke()  # what a sealer holds before its first use: no key, so it asks


def _cache() -> dict[uuid.UUID, Unwrapped]:
    # The cache lives in the application context's ``g`` (one request or CLI command), reached
    # without the ``g`` proxy, which costs about a microsecond per lookup.
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError("data keys are used inside an application context")
    store = ctx.g.__dict__
    cache: dict[uuid.UUID, Unwrapped] | None = store.get(_CACHE)
    if cache is None:
        cache = store[_CACHE] = {}
    return cache


def is_unwrapped(data_key_id: uuid.UUID) -> bool:
    """Whether the data key is unwrapped in this app context already (a shredded one never is)."""
    return data_key_id in _cache()


def forget_unwrapped() -> None:
    """Drop the data keys unwrapped so far in this app context (long runs keep memory flat)."""
    cache = _cache()
    for entry in cache.values():
        entry.revoke()
    cache.clear()


def revoke_at_teardown(_exc: BaseException | None = None) -> None:
    """When an app context ends, revoke its unwrapped keys: a record kept beyond it (and the
    sealer on it) must unwrap its key again, in a context of its own, to read or write."""
    ctx = _cv_app.get(None)
    cache: dict[uuid.UUID, Unwrapped] | None = (
        ctx.g.__dict__.pop(_CACHE, None) if ctx is not None else None)
    for entry in (cache or {}).values():
        entry.revoke()


def new_data_key(purpose: str, *, label: str | None = None) -> DataKey:
    """A fresh data key wrapped under the active KEK, added to the session (not yet flushed)."""
    raw = os.urandom(DATA_KEY_BYTES)
    key_id = uuid.uuid4()
    version, wrapped = keyring().wrap(raw, wrap_context(key_id))
    data_key = DataKey(id=key_id, purpose=purpose, label=label, kek_version=version,
                       wrapped=wrapped, created_at=utcnow())
    db.session.add(data_key)
    _cache()[key_id] = Unwrapped(raw)
    return data_key


def unwrapped(data_key_id: uuid.UUID) -> Unwrapped:
    """The app context's entry for a data key, unwrapped on first use (one query).

    Raises ``DecryptionError`` (audited) when the key is missing or cannot be unwrapped, and
    ``KeyDestroyedError`` when it was shredded.
    """
    hit = _cache().get(data_key_id)
    return hit if hit is not None else _open(data_key_id)


def unwrap_many(data_key_ids: Iterable[uuid.UUID | None]) -> None:
    """Unwrap in one query per 500 the data keys of a list about to be opened (a search's
    candidates, a page of records with keys of their own) that this context has not unwrapped
    yet: without it each record's first value costs a query of its own.

    A key that is missing, shredded or does not unwrap is left out here, so that opening a
    value of it goes through ``unwrapped`` and fails there as it always does (audited).
    """
    cache = _cache()
    wanted = list(dict.fromkeys(k for k in data_key_ids if k is not None and k not in cache))
    if len(wanted) < 2:  # one key: ``unwrapped`` reads it with the same one query
        return
    ring = keyring()
    for start in range(0, len(wanted), _UNWRAP_BATCH):
        with db.session.no_autoflush:
            rows = db.session.execute(
                select(DataKey.id, DataKey.kek_version, DataKey.wrapped)
                .where(DataKey.id.in_(wanted[start:start + _UNWRAP_BATCH]),
                       DataKey.wrapped.is_not(None))).all()
        for row in rows:
            try:
                raw = ring.unwrap(row.kek_version, row.wrapped, wrap_context(row.id))
            except SealError:
                continue  # opening a value of it fails in ``unwrapped``, audited
            cache[row.id] = Unwrapped(raw)


_UNWRAP_BATCH = 500


def prime(data_key_id: uuid.UUID | None, kek_version: int | None, wrapped: bytes | None) -> None:
    """Unwrap a data key whose row the caller read together with its record (the case loader
    joins it: one statement less on every case page), as ``unwrapped`` would on first use. A
    key that is missing, shredded or does not unwrap is left alone here: opening a value of it
    then goes through ``unwrapped``, which reads it again and fails there, audited."""
    if data_key_id is None or wrapped is None or kek_version is None:
        return
    cache = _cache()
    if data_key_id in cache:
        return
    try:
        raw = keyring().unwrap(kek_version, wrapped, wrap_context(data_key_id))
    except SealError:
        return
    cache[data_key_id] = Unwrapped(raw)


def _open(data_key_id: uuid.UUID) -> Unwrapped:
    with db.session.no_autoflush:
        row = db.session.execute(
            select(DataKey.kek_version, DataKey.wrapped, DataKey.destroyed_at)
            .where(DataKey.id == data_key_id)
        ).one_or_none()
    if row is None:
        raise failed(ObjectType.DATA_KEY, data_key_id, "missing")
    if row.wrapped is None:
        raise failed(ObjectType.DATA_KEY, data_key_id, "destroyed", destroyed=True)
    try:
        raw = keyring().unwrap(row.kek_version, row.wrapped, wrap_context(data_key_id))
    except SealError:
        raise failed(ObjectType.DATA_KEY, data_key_id, "unwrap_failed") from None
    entry = _cache()[data_key_id] = Unwrapped(raw)
    return entry


def cipher(data_key_id: uuid.UUID) -> AESGCM:
    """The AES-256-GCM cipher of a data key (unwrapped once per app context, then cached).

    Raises ``DecryptionError`` (audited) when the key is missing or cannot be unwrapped, and
    ``KeyDestroyedError`` when it was shredded.
    """
    found = unwrapped(data_key_id).cipher
    assert found is not None  # the cache holds no revoked entry
    return found


def unwrap(data_key: DataKey) -> bytes:
    """The raw 256-bit data key (for code that seals something other than a model field)."""
    hit = _cache().get(data_key.id)
    found = (hit if hit is not None else _open(data_key.id)).raw
    assert found is not None  # the cache holds no revoked entry
    return found


def system_key(label: str) -> bytes:
    """The raw data key named ``label`` for small system secrets (made on first use).

    System keys are data keys like any other, so rotation re-wraps them and no secret depends
    directly on a KEK.
    """
    with db.session.no_autoflush:
        found = db.session.execute(
            select(DataKey).where(DataKey.label == label)).scalar_one_or_none()
        if found is None:
            try:
                with db.session.begin_nested():
                    found = new_data_key("system", label=label)
            except IntegrityError:  # another process made it first: use theirs
                found = db.session.execute(
                    select(DataKey).where(DataKey.label == label)).scalar_one()
    return unwrap(found)


def shred(data_key: DataKey, *, object_type: str, object_id: object, reason: str,
          action: Action = Action.KEYS_SHRED) -> None:
    """Destroy ``data_key`` for good, drop its owner's blind-index entries, and audit a tombstone.

    Runs in the caller's transaction. Afterwards no copy of the owner's sealed values can be
    opened, with any KEK: the only wrapped copy of the key is gone. The event carries only
    ``object_type``, ``object_id`` and the ``reason`` code (never survivor data).
    """
    if db.session.get_bind().dialect.name == "sqlite":
        # Overwrite freed bytes in the file instead of leaving the old wrapped key in free space.
        db.session.execute(text("PRAGMA secure_delete=ON"))
        _checkpoint_after_commit(db.session())
    db.session.execute(
        update(DataKey).where(DataKey.id == data_key.id)
        .values(wrapped=None, destroyed_at=utcnow())
        .execution_options(synchronize_session="fetch"))
    db.session.execute(delete(BlindIndexEntry).where(BlindIndexEntry.data_key_id == data_key.id))
    gone = _cache().pop(data_key.id, None)
    if gone is not None:
        gone.revoke()  # sealers kept on records hold this entry: none can use the key now
    record(action, object_type=object_type, object_id=str(object_id), outcome=Outcome.ALLOWED,
           reason=reason)


def checkpoint_wal(engine: Engine) -> bool:
    """SQLite: copy the write-ahead log into the main file and truncate the log.

    Until a checkpoint, the main file still holds the page as it was before a shred (with the
    wrapped key) and only the log holds the new one; a running server checkpoints on its own
    only every thousand pages. Returns whether the checkpoint completed (a long-running reader
    can hold it back; the next one finishes the job). Runs outside any transaction.
    """
    if engine.dialect.name != "sqlite":
        return True
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        busy, _log, _done = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    return not busy


def _checkpoint_after_commit(session: Session) -> None:
    """Once the shredding transaction commits, checkpoint so the main file forgets the key."""
    session.info[_CHECKPOINT_PENDING] = session.get_bind()


@event.listens_for(Session, "after_commit")
def _checkpoint_if_shredded(session: Session) -> None:
    engine = session.info.pop(_CHECKPOINT_PENDING, None)
    if engine is not None and not checkpoint_wal(engine):
        current_app.logger.warning("WAL checkpoint after a shred was held back by a reader; "
                                   "the next checkpoint completes it")


@event.listens_for(Session, "after_soft_rollback")
def _no_checkpoint_after_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_CHECKPOINT_PENDING, None)
