"""KEK rotation, retirement and verification: the work behind ``flask keys``.

Rotation re-wraps data keys only; no field ciphertext changes. It works in batches, each its own
transaction, and selects "data keys not yet under the active version", so an interrupted run
loses nothing and a second run finishes the job. Each re-wrap is conditional on the key still
being wrapped under the version it was read under, so a key shredded meanwhile stays shredded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, func, select, update

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.clock import utcnow
from app.crypto.aead import SealError
from app.crypto.envelope import wrap_context
from app.crypto.failures import failed
from app.crypto.keyring import LocalKeyProvider, keyring
from app.crypto.models import DataKey, KekVersion
from app.db import db
from app.keyfiles import KeyFileError, create_key, kek_name, load_key


class RotationError(Exception):
    """Rotation or retirement cannot go ahead; the message is one line for the operator."""


@dataclass(frozen=True)
class Plan:
    """What a rotation run will do: re-wrap ``stale`` keys under ``version``."""

    version: int
    created: bool
    stale: int


def stale_count(active: int) -> int:
    """Data keys (not shredded) wrapped under another version than ``active``."""
    return int(db.session.execute(
        select(func.count()).select_from(DataKey).where(
            DataKey.kek_version != active, DataKey.wrapped.is_not(None))).scalar_one())


def counts_by_version() -> dict[int, int]:
    """Live (not shredded) data keys per KEK version."""
    rows = db.session.execute(
        select(DataKey.kek_version, func.count()).where(DataKey.wrapped.is_not(None))
        .group_by(DataKey.kek_version)).all()
    return {int(v): int(n) for v, n in rows}


def _new_version(instance: Path, environment: str) -> int:
    """Enrol a prepared key (present, higher than any known) or write a new key file."""
    ring = keyring()
    known = set(db.session.execute(select(KekVersion.version)).scalars())
    prepared = sorted(v for v in ring.provider.versions() if v > max(known, default=0))
    if prepared:
        version = prepared[0]
    else:
        if not isinstance(ring.provider, LocalKeyProvider):
            raise RotationError("The key provider cannot create keys; prepare the new version "
                                "in the KMS and restart.")
        version = max(known | set(ring.provider.versions()), default=0) + 1
        try:
            create_key(kek_name(version), instance, environment=environment)
            key = load_key(kek_name(version), instance, production=environment == "production")
        except KeyFileError as exc:
            raise RotationError(str(exc)) from None
        ring.provider.add(version, key)
    db.session.add(KekVersion(version=version, check_value=ring.check_value(version),
                              created_at=utcnow()))
    record(Action.KEYS_ROTATE, object_type=ObjectType.KEK, object_id=str(version), reason="new_version")
    db.session.commit()
    ring.forget()
    return version


def plan_rotation(instance: Path, environment: str) -> Plan:
    """Resume an unfinished rotation, or add and activate a new KEK version."""
    ring = keyring()
    if ring.pinned is not None:
        raise RotationError(f"AMANA_KEK_ACTIVE pins version {ring.pinned}; unset it to rotate.")
    ring.forget()
    active = ring.active_version
    stale = stale_count(active)
    if stale:
        return Plan(active, created=False, stale=stale)
    version = _new_version(instance, environment)
    if ring.active_version != version:
        raise RotationError(f"KEK version {version} was enrolled but is not the highest usable "
                            "version; check 'flask keys status'.")
    return Plan(version, created=True, stale=stale_count(version))


def rewrap_batch(active: int, batch_size: int,
                 after: uuid.UUID | None = None) -> tuple[uuid.UUID | None, int, list[uuid.UUID]]:
    """Re-wrap up to ``batch_size`` stale data keys (ids above ``after``) under ``active``, commit.

    Returns (the last id looked at, or None when there was nothing left; how many were
    re-wrapped; ids that did not unwrap, which are audited and left as they are).
    """
    ring = keyring()
    stmt = (select(DataKey.id, DataKey.kek_version, DataKey.wrapped)
            .where(DataKey.kek_version != active, DataKey.wrapped.is_not(None))
            .order_by(DataKey.id).limit(batch_size))
    if after is not None:
        stmt = stmt.where(DataKey.id > after)
    rows = db.session.execute(stmt).all()
    params, bad = [], []
    for row in rows:
        context = wrap_context(row.id)
        try:
            raw = ring.unwrap(row.kek_version, row.wrapped, context)
        except SealError:
            failed(ObjectType.DATA_KEY, row.id, "unwrap_failed")
            bad.append(row.id)
            continue
        version, wrapped = ring.wrap(raw, context)
        if version != active:
            db.session.rollback()
            raise RotationError(f"KEK version {version} became active during the run (another "
                                "rotation?); run 'flask --app app keys rotate' again.")
        params.append({"k_id": row.id, "k_old": row.kek_version, "k_wrapped": wrapped})
    if params:
        table = DataKey.__table__
        db.session.execute(
            update(table).where(table.c.id == bindparam("k_id"),
                                table.c.kek_version == bindparam("k_old"),
                                table.c.wrapped.is_not(None))
            .values(wrapped=bindparam("k_wrapped"), kek_version=active, rewrapped_at=utcnow()),
            params)
    db.session.commit()
    return (rows[-1].id if rows else None), len(params), bad


def rewrap_all(active: int, batch_size: int,
               progress: Callable[[int], None] = lambda n: None) -> list[uuid.UUID]:
    """Re-wrap every stale data key; returns the ids that could not be unwrapped.

    Walks the keys in id order (keyset pagination, so each batch is an index range), then walks
    again while keys made meanwhile by app servers still on the old version remain.
    """
    failed_ids: set[uuid.UUID] = set()
    while True:
        after: uuid.UUID | None = None
        moved = 0
        while True:
            after, done, bad = rewrap_batch(active, batch_size, after)
            failed_ids.update(bad)
            moved += done
            progress(done + len(bad))
            if after is None:
                break
        if moved == 0 or stale_count(active) <= len(failed_ids):
            return sorted(failed_ids)


def iter_live_keys(batch_size: int) -> Iterator[list[tuple[uuid.UUID, int, bytes]]]:
    """Every live data key, in batches ordered by id (keyset pagination)."""
    last: uuid.UUID | None = None
    while True:
        stmt = (select(DataKey.id, DataKey.kek_version, DataKey.wrapped)
                .where(DataKey.wrapped.is_not(None)).order_by(DataKey.id).limit(batch_size))
        if last is not None:
            stmt = stmt.where(DataKey.id > last)
        rows = [(r.id, r.kek_version, r.wrapped) for r in db.session.execute(stmt)]
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def verify_all(batch_size: int, progress: Callable[[int], None] = lambda n: None) -> tuple[int, int]:
    """Unwrap every live data key (without caching); returns (opened, failed). Failures are
    noted for the audit trail."""
    ring, ok, bad = keyring(), 0, 0
    for rows in iter_live_keys(batch_size):
        for key_id, version, wrapped in rows:
            try:
                ring.unwrap(version, wrapped, wrap_context(key_id))
                ok += 1
            except SealError:
                failed(ObjectType.DATA_KEY, key_id, "unwrap_failed")
                bad += 1
        progress(len(rows))
    return ok, bad


def retire(version: int) -> None:
    """Mark ``version`` retired, refusing while it is active or anything is wrapped under it.

    Race-safe with servers wrapping at the same moment: the row is locked first (PostgreSQL:
    FOR NO KEY UPDATE, which waits for every transaction holding it FOR SHARE, i.e. every
    transaction that wrapped a data key under it, to end; SQLite: the write lock taken at
    BEGIN), and only then are the data keys under it counted, so a key committed meanwhile is
    seen and the retirement refused. Nothing changes on a refusal but the audit event.
    """
    ring = keyring()
    ring.forget()
    table = KekVersion.__table__
    found = db.session.execute(
        select(table.c.retired_at).where(table.c.version == version)
        .with_for_update(key_share=True)).one_or_none()
    refusal, in_use = None, False
    if found is None:
        refusal = f"KEK version {version} is not known to this database."
    elif found.retired_at is not None:
        refusal = f"KEK version {version} is already retired."
    else:
        active = ring.active_version
        left = counts_by_version().get(version, 0)
        if version == active:
            refusal = (f"KEK version {version} is the active version; run 'flask --app app keys "
                       "rotate' first.")
        elif left:
            in_use = True
            refusal = (f"KEK version {version} still wraps {left} data key(s); run 'flask --app "
                       f"app keys rotate' to re-wrap them under version {active}, then retire "
                       f"{version} again.")
    if refusal is not None:
        db.session.rollback()  # releases the lock; nothing was changed
        if in_use:
            record(Action.KEYS_RETIRE, object_type=ObjectType.KEK, object_id=str(version),
                   outcome=Outcome.DENIED, reason="still_in_use")
            db.session.commit()
        raise RotationError(refusal)
    db.session.execute(update(table).where(table.c.version == version,
                                           table.c.retired_at.is_(None))
                       .values(retired_at=utcnow()))
    record(Action.KEYS_RETIRE, object_type=ObjectType.KEK, object_id=str(version), reason="retired")
    db.session.commit()
    ring.forget()
