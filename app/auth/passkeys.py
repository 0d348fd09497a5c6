"""Passkeys (WebAuthn) as the second factor, instead of the authenticator app's code.

A passkey is registered under *My account → Passkeys* by a session that proved its second
factor within the step-up window, and then signs in (after the password, ``auth.mfa``) and
confirms dangerous actions (the step-up page) as a code does: both call
``stepup.second_factor_passed`` (``method="passkey"``), and a refused passkey counts toward the
account's lockout like a wrong code (``second_factor.failed``).

The browser is trusted with nothing. A challenge is made here, kept on the session row (one to
sign, one to register, ``AuthSession.passkey_*``), is good for ``CHALLENGE_MINUTES`` and is
claimed with a conditional update before the answer is checked, so each challenge is answered
once, by this session, for its purpose. Only the account's own passkeys are offered
(``allowCredentials``: the password came first) and accepted: an assertion made with another
account's passkey is refused and recorded. The relying party id and origin come from
``WEBAUTHN_RP_ID`` / ``WEBAUTHN_ORIGIN`` (default: the request's host, which the allowed-hosts
check bounds in production). The signature counter must rise at every use unless the
authenticator keeps it at zero (most synced passkeys); a counter that does not rise means a copy
of the authenticator signed: the assertion is refused and the passkey is stopped
(``disabled_at``), since the copy's counter would otherwise overtake the stored one after a few
tries. An organisation may require passkeys for chosen roles (``Organisation.passkey_roles``):
its accounts of those roles then sign in and confirm with a passkey only, and reach only the
passkey pages until they have one.

The audit trail names passkeys by their row id, never by credential id or public key.
Registering and removing are in ``app.auth.passkey_keys``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import second_factor, sessions, stepup, throttle
from app.auth.models import AuthSession, Passkey, User
from app.auth.policy import role_chosen
from app.clock import utcnow
from app.db import db, transaction

CHALLENGE_MINUTES = 10  # longer than the step-up window: a stale add is confirmed, then checked
TIMEOUT_MS = 120_000  # what the browser is told to wait for the authenticator
MAX_ANSWER = 16_384  # characters of the browser's JSON answer
METHOD = "passkey"
STEP_UP_FIELD = "step_up_passkey"  # the confirm page's field, beside stepup.CODE_FIELD
#: What a session that must register a passkey first may reach (``must_register``); keep it
#: as short as ``MFA_STEP_ENDPOINTS``.
PASSKEY_ENDPOINTS = frozenset({"auth.passkey_list", "auth.passkey_new", "auth.passkey_add",
                               "auth.logout", "auth.lock", "auth.keepalive"})

REFUSED = _l("The passkey was not accepted. Try again, or ask an administrator for help.")
STOPPED = _l("This passkey has been stopped because a copy of it was used. Remove it and "
             "register it again, or ask an administrator for help.")
CODES_NOT_ACCEPTED = _l("Your organisation requires a passkey for your role: codes are not "
                        "accepted. Use your passkey.")
# --- Settings and questions ---------------------------------------------------------------------

def rp_id() -> str:
    """The relying party id: ``WEBAUTHN_RP_ID``, else the request's host name (no port)."""
    configured: str | None = current_app.config.get("WEBAUTHN_RP_ID")
    return configured or (request.host.rsplit(":", 1)[0] if "]" not in request.host
                          else request.host.split("]")[0].lstrip("["))


def origin() -> str:
    """The origin the browser must report: ``WEBAUTHN_ORIGIN``, else this request's."""
    configured: str | None = current_app.config.get("WEBAUTHN_ORIGIN")
    return configured or f"{request.scheme}://{request.host}"


def required(user: User) -> bool:
    """Whether the account's organisation requires a passkey for its role (no query)."""
    return role_chosen(user.role, user.organisation.passkey_roles)


def must_register(row: AuthSession | None) -> bool:
    """Whether this signed-in session may reach only the passkey pages: its role requires a
    passkey and its second factor was not one (the account had none). Costs no query."""
    return row is not None and row.mfa_method != METHOD and required(row.user)


def of(user: User) -> list[Passkey]:
    """The account's passkeys, oldest first (stopped ones included)."""
    return list(db.session.execute(
        select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at, Passkey.id)
    ).scalars())


def usable(user: User) -> list[Passkey]:
    """The account's passkeys that may sign."""
    return [p for p in of(user) if p.disabled_at is None]


def codes_allowed(user: User) -> bool:
    """Whether an authenticator or recovery code may prove this account's second factor: not
    once its role requires passkeys and it has one that may sign."""
    return not (required(user) and bool(usable(user)))


# --- Challenges ---------------------------------------------------------------------------------

def _new_challenge(*, enrol: bool) -> bytes:
    row = sessions.current()
    assert row is not None
    challenge = secrets.token_bytes(32)
    until = utcnow() + timedelta(minutes=CHALLENGE_MINUTES)
    if enrol:
        row.passkey_enrol_challenge, row.passkey_enrol_until = challenge, until
    else:
        row.passkey_challenge, row.passkey_challenge_until = challenge, until
    return challenge


def claim_challenge(*, enrol: bool) -> bytes | None:
    """The session's challenge for this purpose, taken so it can never be answered again (None:
    there is none, it expired, or another request took it first)."""
    row = sessions.current()
    if row is None:
        return None
    stored = row.passkey_enrol_challenge if enrol else row.passkey_challenge
    until = row.passkey_enrol_until if enrol else row.passkey_challenge_until
    column = AuthSession.passkey_enrol_challenge if enrol else AuthSession.passkey_challenge
    if stored is None or until is None:
        return None
    values = ({"passkey_enrol_challenge": None, "passkey_enrol_until": None} if enrol
              else {"passkey_challenge": None, "passkey_challenge_until": None})
    taken = db.session.execute(update(AuthSession).where(AuthSession.id == row.id, column == stored)
                               .values(**values).execution_options(synchronize_session=False))
    for name, value in values.items():
        setattr(row, name, value)
    if getattr(taken, "rowcount", 0) != 1 or until < utcnow():
        return None
    return stored


def _transports(passkey: Passkey) -> list[AuthenticatorTransport]:
    known = {t.value for t in AuthenticatorTransport}
    return [AuthenticatorTransport(t) for t in (passkey.transports or "").split() if t in known]


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=p.credential_id, transports=_transports(p) or None)
            for p in passkeys]


def sign_options(user: User) -> str | None:
    """The options (JSON) for the browser to sign this session's new challenge with one of the
    account's passkeys, or None when it has none that may sign. Commits the challenge."""
    passkeys = usable(user)
    if not passkeys:
        return None
    with transaction():
        challenge = _new_challenge(enrol=False)
    return options_to_json(generate_authentication_options(
        rp_id=rp_id(), challenge=challenge, timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(passkeys),
        user_verification=UserVerificationRequirement.PREFERRED))


def register_options(user: User) -> str:
    """The options (JSON) for the browser to make a new passkey. Commits the challenge."""
    with transaction():
        challenge = _new_challenge(enrol=True)
    return options_to_json(generate_registration_options(
        rp_id=rp_id(), rp_name="Amana", user_name=user.username, user_id=user.id.bytes,
        user_display_name=user.username, challenge=challenge, timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(of(user))))


# --- Checking an answer -------------------------------------------------------------------------

def parse_answer(raw: str) -> dict[str, Any] | None:
    if not raw or len(raw) > MAX_ANSWER:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("id"), str) else None


@dataclass(frozen=True)
class Signed:
    """An accepted assertion: the passkey that signed."""

    passkey: Passkey


def _check(user: User, raw: str) -> Signed | str:
    """Check an assertion for ``user`` in the caller's transaction: the passkey that signed, or
    the reason it is refused. The challenge is used up either way; a counter that went back
    stops the passkey; nothing else changes unless it is accepted (counter, last use)."""
    answer = parse_answer(raw)
    challenge = claim_challenge(enrol=False)
    if answer is None:
        return "passkey_malformed"
    if challenge is None:
        return "passkey_challenge"
    try:
        credential_id = base64url_to_bytes(answer["id"])
    except (ValueError, TypeError):
        return "passkey_malformed"
    passkey = db.session.execute(
        select(Passkey).where(Passkey.credential_id == credential_id)).scalar_one_or_none()
    if passkey is None:
        return "passkey_unknown"
    if passkey.user_id != user.id:
        return "passkey_other_account"
    if passkey.disabled_at is not None:
        return "passkey_stopped"
    try:
        verified = verify_authentication_response(
            credential=answer, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origin(), credential_public_key=passkey.public_key,
            credential_current_sign_count=0)  # compared below, after the signature
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        return "passkey_refused"
    if (verified.new_sign_count or passkey.sign_count) \
            and verified.new_sign_count <= passkey.sign_count:
        passkey.disabled_at = utcnow()
        return "passkey_cloned"
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return Signed(passkey)


def _message(reason: str) -> Any:
    return STOPPED if reason in ("passkey_cloned", "passkey_stopped") else REFUSED


def sign_in(user: User, raw: str) -> tuple[Any | None, bool]:
    """Complete sign-in with a passkey. Returns (the refusal's message or None when accepted,
    whether the session ended: the failure locked the account)."""
    with transaction():
        if throttle.is_locked(user.username):
            sessions.end_current("mfa_lockout")
            record(Action.AUTH_MFA_FAILED, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED, reason="locked", actor=user)
            return second_factor.LOCKED, True
        found = _check(user, raw)
        if isinstance(found, str):
            record(Action.AUTH_MFA_FAILED, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED, reason=found, actor=user)
            return _message(found), second_factor.failed(user)
        stepup.second_factor_passed(user, method=METHOD)
        record(Action.AUTH_MFA_VERIFIED, object_type=ObjectType.USER, object_id=user.id,
               actor=user, reason=METHOD)  # as a code's; the passkey shows its last use
    return None, False


def step_up(user: User, raw: str) -> stepup.Refused | None:
    """Accept a passkey for a dangerous action (None: the session is fresh from now), or say
    why not; recorded either way as ``auth.step_up`` on the action's endpoint."""
    with transaction():
        if throttle.is_locked(user.username):
            record(Action.AUTH_STEP_UP, object_type=ObjectType.ENDPOINT,
                   object_id=request.endpoint, outcome=Outcome.DENIED, reason="locked",
                   actor=user)
            return stepup.Refused(second_factor.LOCKED, "locked")
        found = _check(user, raw)
        if isinstance(found, str):
            record(Action.AUTH_STEP_UP, object_type=ObjectType.ENDPOINT,
                   object_id=request.endpoint, outcome=Outcome.DENIED, reason=found, actor=user)
            return stepup.Refused(_message(found), found, second_factor.failed(user))
        stepup.second_factor_passed(user, signed_in=True, method=METHOD)
        record(Action.AUTH_STEP_UP, object_type=ObjectType.ENDPOINT, object_id=request.endpoint,
               reason=METHOD, actor=user)
    g.setdefault(stepup.MARK, stepup.PROVED_NOW)
    return None


def confirm(user: User, form: Any) -> stepup.Refused | None:
    """The step-up page's answer: a passkey when one was sent, else the code, which an account
    that must use passkeys may not give (refused, recorded, not counted)."""
    answer = form.get(STEP_UP_FIELD, "")
    if answer:
        return step_up(user, answer)
    if not codes_allowed(user):
        with transaction():
            record(Action.AUTH_STEP_UP, object_type=ObjectType.ENDPOINT,
                   object_id=request.endpoint, outcome=Outcome.DENIED, reason="passkey_required",
                   actor=user)
        return stepup.Refused(CODES_NOT_ACCEPTED, "passkey_required")
    return stepup.verify(user, form.get(stepup.CODE_FIELD, ""))


def refuse_code(user: User) -> None:
    """Record a code typed at sign-in by an account that must use its passkey."""
    with transaction():
        record(Action.AUTH_MFA_FAILED, object_type=ObjectType.USER, object_id=user.id,
               outcome=Outcome.DENIED, reason="passkey_required", actor=user)
