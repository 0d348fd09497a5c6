"""One's own passkeys: registering (the browser's answer to the session's registration
challenge), removing, and the admin's reset that forgets them all. Checking a passkey that signs
is ``app.auth.passkeys``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from webauthn import verify_registration_response
from webauthn.helpers.exceptions import WebAuthnException

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import passkeys, sessions, stepup
from app.auth.models import Passkey, User
from app.clock import utcnow
from app.db import db, transaction

MAX_PER_ACCOUNT = 10
LABEL_MAX = 60

TOO_MANY = _l("An account can have at most %(n)d passkeys. Remove one first.", n=MAX_PER_ACCOUNT)
LAST_ONE = _l("Your organisation requires a passkey for your role: your last passkey cannot be "
              "removed. Register another one first.")
NOT_FRESH = _l("Confirm it is you again, then register the passkey.")


class PasskeyError(ValueError):
    """A passkey change was refused (recorded); the message is safe to show."""

    def __init__(self, message: Any, reason: str) -> None:
        super().__init__(reason)
        self.message, self.reason = message, reason


def _refuse_add(user: User, message: Any, reason: str) -> PasskeyError:
    with transaction():
        record(Action.AUTH_PASSKEY_ADDED, object_type=ObjectType.USER, object_id=user.id,
               outcome=Outcome.DENIED, reason=reason)
    return PasskeyError(message, reason)


def register(user: User, label: str, raw: str) -> Passkey:
    """Keep a new passkey from the browser's answer to this session's registration challenge.
    Raises ``PasskeyError`` (recorded, nothing kept). The session must have proved its second
    factor within the step-up window (the page asked before the challenge was made)."""
    row = sessions.current()
    if row is None or not stepup.is_fresh(row):
        raise _refuse_add(user, NOT_FRESH, "not_fresh")
    with transaction():
        challenge = passkeys.claim_challenge(enrol=True)
        count = db.session.execute(select(func.count()).select_from(Passkey)
                                   .where(Passkey.user_id == user.id)).scalar_one()
    answer = passkeys.parse_answer(raw)
    if answer is None or challenge is None:
        raise _refuse_add(user, passkeys.REFUSED, "passkey_malformed" if answer is None
                          else "passkey_challenge")
    if count >= MAX_PER_ACCOUNT:
        raise _refuse_add(user, TOO_MANY, "too_many_passkeys")
    try:
        verified = verify_registration_response(
            credential=answer, expected_challenge=challenge, expected_rp_id=passkeys.rp_id(),
            expected_origin=passkeys.origin())
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        raise _refuse_add(user, passkeys.REFUSED, "passkey_refused") from None
    known = db.session.execute(select(Passkey.id).where(
        Passkey.credential_id == verified.credential_id)).scalar_one_or_none()
    if known is not None:
        raise _refuse_add(user, passkeys.REFUSED, "passkey_exists")
    transports = answer.get("response", {}).get("transports")
    kept = " ".join(t for t in transports if isinstance(t, str) and t.isalnum())[:120] \
        if isinstance(transports, list) else None
    with transaction():
        passkey = Passkey(id=uuid.uuid4(), user_id=user.id,
                          credential_id=verified.credential_id,
                          public_key=verified.credential_public_key,
                          sign_count=verified.sign_count, transports=kept or None,
                          label=label.strip()[:LABEL_MAX], created_at=utcnow())
        db.session.add(passkey)
        row.mfa_method = passkeys.METHOD  # made just now with the authenticator in hand
        record(Action.AUTH_PASSKEY_ADDED, object_type=ObjectType.PASSKEY, object_id=passkey.id)
    return passkey


def remove(user: User, passkey_id: uuid.UUID) -> None:
    """Remove one of one's own passkeys (not the last one while the role requires one).
    Raises ``LookupError`` for a passkey that is not the account's, ``PasskeyError`` when
    refused; both recorded."""
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        with transaction():
            record(Action.AUTH_PASSKEY_REMOVED, object_type=ObjectType.PASSKEY,
                   object_id=passkey_id, outcome=Outcome.DENIED, reason="not_found")
        raise LookupError("no such passkey")
    if passkeys.required(user) and passkey.disabled_at is None \
            and [p.id for p in passkeys.usable(user)] == [passkey.id]:
        with transaction():
            record(Action.AUTH_PASSKEY_REMOVED, object_type=ObjectType.PASSKEY,
                   object_id=passkey_id, outcome=Outcome.DENIED, reason="last_passkey")
        raise PasskeyError(LAST_ONE, "last_passkey")
    with transaction():
        db.session.delete(passkey)
        record(Action.AUTH_PASSKEY_REMOVED, object_type=ObjectType.PASSKEY, object_id=passkey_id)


def forget_all(user: User) -> int:
    """Delete every passkey of the account (an admin's second-factor reset), in the caller's
    transaction. Returns how many there were."""
    found = passkeys.of(user)
    for passkey in found:
        db.session.delete(passkey)
    return len(found)


def record_view(user: User) -> None:
    """Audit that the account looked at its own passkeys."""
    with transaction():
        record(Action.AUTH_PASSKEYS_VIEW, object_type=ObjectType.USER, object_id=user.id)
