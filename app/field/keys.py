"""Intake keys: one P-256 key pair per organisation and version (``IntakeKey``).

Devices seal every field submission to the organisation's newest unretired key
(``active_key``, made on first use). ``rotate`` makes a newer one: devices prepared afterwards
seal to it, and the older keys still open what was sealed to them before (envelopes in flight).
``retire`` ends a key for good: its private half is cleared and its data key shredded, so
nothing sealed to it opens any more, and an envelope naming it is refused (``unknown_key``).

The private scalar is sealed under the key's own data key (purpose ``intake_key``), which the
keyring's KEK wraps like every other: ``flask keys rotate`` re-wraps it, ``flask keys verify
--deep`` opens it, a backup carries it only sealed. It is read only to open envelopes
(``private_for``) and never logged, audited, cached or shown.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.clock import utcnow
from app.crypto import hpke
from app.crypto.envelope import new_data_key, shred
from app.db import db, transaction
from app.field.models import IntakeKey

DATA_KEY_PURPOSE = "intake_key"


class IntakeKeyError(LookupError):
    """A key that cannot be retired (unknown, or retired already)."""


def _newest(organisation_id: uuid.UUID) -> IntakeKey | None:
    return db.session.execute(
        select(IntakeKey)
        .where(IntakeKey.organisation_id == organisation_id, IntakeKey.retired_at.is_(None))
        .order_by(IntakeKey.created_at.desc(), IntakeKey.id.desc()).limit(1)
    ).scalar_one_or_none()


def _create(organisation_id: uuid.UUID, reason: str) -> IntakeKey:
    """A new key pair for the organisation, in its own transaction (audited)."""
    with transaction():
        # Strictly newer than the newest (a clock that did not move must not make the old one
        # win the tie): the newest unretired key is the active one.
        newest, now = _newest(organisation_id), utcnow()
        if newest is not None and now <= newest.created_at:
            now = newest.created_at + timedelta(microseconds=1)
        private, public = hpke.generate()
        key = IntakeKey(data_key=new_data_key(DATA_KEY_PURPOSE), organisation_id=organisation_id,
                        public_key=public, created_at=now)
        key.private_key = private
        db.session.add(key)
        db.session.flush()
        record(Action.FIELD_KEY_CREATE, object_type=ObjectType.INTAKE_KEY, object_id=key.id,
               reason=reason)
    return key


def active_key(organisation_id: uuid.UUID) -> IntakeKey:
    """The key devices of the organisation seal to: its newest unretired one, made (and
    committed, audited) on first use. Two first uses at the same moment may each make one: both
    open what is sealed to them, and the newer is the active one from then on."""
    found = _newest(organisation_id)
    return found if found is not None else _create(organisation_id, "first_use")


def rotate(organisation_id: uuid.UUID) -> IntakeKey:
    """A new active key for the organisation (committed, audited). The older unretired keys
    still open the envelopes sealed to them until they are retired."""
    return _create(organisation_id, "rotation")


def retire(key: IntakeKey) -> None:
    """Retire ``key`` for good, in one transaction: ``retired_at`` set, its private half
    cleared and its data key shredded (audited as ``field.key_retire``). Envelopes sealed to it
    are refused from now on. Raises ``IntakeKeyError`` when it is retired already."""
    if key.retired_at is not None:
        raise IntakeKeyError("retired already")
    with transaction():
        key.retired_at = utcnow()
        key.private_key = None
        db.session.flush()
        shred(key.data_key, object_type=ObjectType.INTAKE_KEY, object_id=key.id,
              reason="retired", action=Action.FIELD_KEY_RETIRE)


def usable(key_id: uuid.UUID, organisation_id: uuid.UUID) -> IntakeKey | None:
    """The organisation's unretired key ``key_id``, or None (another organisation's, retired,
    or no such key: the caller cannot tell which, and need not)."""
    key = db.session.get(IntakeKey, key_id)
    if key is None or key.organisation_id != organisation_id or key.retired_at is not None:
        return None
    return key


def private_for(key_id: uuid.UUID, organisation_id: uuid.UUID) -> bytes | None:
    """The private scalar of the organisation's unretired key ``key_id`` (to open envelopes),
    or None. A key that does not open raises ``DecryptionError`` (audited by the crypto layer):
    a fault of the server, not of the envelope."""
    key = usable(key_id, organisation_id)
    return key.private_key if key is not None else None


def of_organisation(organisation_id: uuid.UUID | None = None) -> list[IntakeKey]:
    """Every key (of one organisation, or all), oldest first, for ``flask field-key list``."""
    stmt = select(IntakeKey).order_by(IntakeKey.organisation_id, IntakeKey.created_at)
    if organisation_id is not None:
        stmt = stmt.where(IntakeKey.organisation_id == organisation_id)
    return list(db.session.execute(stmt).scalars())

