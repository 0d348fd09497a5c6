"""Single sign-on, the rules: starting a sign-in at the provider, finishing it (one function,
``finish``, decides everything), linking an account to its subject and each organisation's
settings. Every outcome is audited; a refusal changes nothing but the one-time request it used.

Signing in through the provider replaces the password step only. The account is found by the
(issuer, subject) an admin linked to it, never by email and never created; it must be able to
sign in (active, not waiting for approval, not locked out), its organisation active with single
sign-on turned on. Then Amana's own second factor is asked exactly as after a password, unless
the organisation trusts the provider's (``OrganisationSso.trust_mfa``, off by default), the ID
token says a second factor was used (``amr``/``acr``) and the sign-in at the provider is recent
(``auth_time`` within ``STEP_UP_MINUTES``: it then counts as the proof a code at sign-in is).
Everything after (a forced password change, the pledge, the step-up window, timeouts) is the
guard's, as for any session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import oidc, passkeys, sessions, stepup, throttle
from app.auth.models import User
from app.auth.oidc_models import DEFAULT_AMR, OidcIdentity, OidcRequest, OrganisationSso
from app.clock import utcnow
from app.core.versioning import check_version, saving
from app.db import db, transaction
from app.directory.models import Organisation
from app.directory.service import DirectoryStale
from app.observability.metrics import LOGIN_FAILURES

REQUEST_MINUTES = 10  # from the redirect to the provider to the return
SUBJECT_MAX = 255


def _digest(value: str) -> bytes:
    return sessions.token_digest(value)


def subject_tag(iss: str, sub: str) -> str:
    """A short keyed digest of a subject for the audit trail: the same subject gives the same
    tag (repeated attempts can be followed), and the subject cannot be read back from it."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"oidc-subject\0{iss}\0{sub}".encode(), hashlib.sha256).hexdigest()[:12]


def verifier_of(binding: str) -> str:
    """The PKCE code verifier, derived from the browser's binding cookie: nothing stored in the
    database can complete a sign-in."""
    return oidc.pkce_challenge("pkce\0" + binding)


def settings_of(organisation_id: Any) -> OrganisationSso | None:
    """The organisation's single sign-on settings (None: never set, so off)."""
    return db.session.get(OrganisationSso, organisation_id)


def identity_of(user: User) -> OidcIdentity | None:
    """The subject linked to ``user``, if any."""
    return db.session.execute(
        select(OidcIdentity).where(OidcIdentity.user_id == user.id)).scalar_one_or_none()


def _refuse(reason: str, *, user: User | None = None) -> oidc.OidcRefused:
    """Record a refused single sign-on (``auth.login_failed``, reason ``sso;<why>``)."""
    with transaction():
        record(Action.AUTH_LOGIN_FAILED, object_type=ObjectType.USER,
               object_id=user.id if user else None, outcome=Outcome.DENIED,
               reason=f"sso;{reason}")
    LOGIN_FAILURES.labels(step="sso").inc()
    return oidc.OidcRefused(reason)


def begin(redirect_uri: str) -> tuple[str, str]:
    """Start a sign-in: returns the provider's URL and the binding to set as a cookie."""
    try:
        provider = oidc.discover()
    except oidc.OidcRefused as exc:
        raise _refuse(exc.reason) from exc
    state, nonce, binding = (secrets.token_urlsafe(32) for _ in range(3))
    now = utcnow()
    with transaction():
        db.session.execute(delete(OidcRequest).where(
            OidcRequest.created_at < now - timedelta(minutes=REQUEST_MINUTES)))
        db.session.add(OidcRequest(state_hash=_digest(state), binding_hash=_digest(binding),
                                   nonce_hash=_digest(nonce), created_at=now))
    url = oidc.authorization_url(provider, state=state, nonce=nonce,
                                 verifier=verifier_of(binding), redirect_uri=redirect_uri)
    return url, binding


@dataclass(frozen=True)
class Finished:
    """A sign-in accepted: the account, and whether its second factor is already proved."""

    user: User
    second_factor_done: bool


def _param(args: Mapping[str, str], name: str) -> str:
    value = args.get(name) or ""
    return value if 0 < len(value) <= 2048 and value.isprintable() else ""


def _claim_request(args: Mapping[str, str], binding: str | None) -> OidcRequest:
    """The one-time request this return answers, claimed (so it can never be used again)."""
    if args.get("error") is not None:
        raise _refuse("provider_error")
    state, code = _param(args, "state"), _param(args, "code")
    if not state or not code:
        raise _refuse("no_state")
    row = db.session.execute(
        select(OidcRequest).where(OidcRequest.state_hash == _digest(state))).scalar_one_or_none()
    if row is None:
        raise _refuse("unknown_state")
    if not binding or not hmac.compare_digest(row.binding_hash, _digest(binding)):
        raise _refuse("bad_binding")
    if row.used_at is not None:
        raise _refuse("replayed_state")
    if utcnow() - row.created_at > timedelta(minutes=REQUEST_MINUTES):
        raise _refuse("expired_request")
    with transaction():
        claimed = db.session.execute(
            update(OidcRequest).where(OidcRequest.id == row.id, OidcRequest.used_at.is_(None))
            .values(used_at=utcnow()))
    if getattr(claimed, "rowcount", 0) != 1:  # the same return, twice at once
        raise _refuse("replayed_state")
    return row


def _trusted(settings: OrganisationSso, claims: dict[str, Any], user: User) -> str:
    """Whether the provider's second factor stands for Amana's, as the audit reason. Never for
    an account whose role must use passkeys: the provider's factor may be a code that can be
    phished, and the organisation asked for a passkey."""
    if not settings.trust_mfa:
        return "mfa_asked"
    if passkeys.required(user):
        return "mfa_passkey_required"
    if not oidc.mfa_claimed(claims, settings.mfa_amr, settings.mfa_acr):
        return "mfa_claim_missing"
    auth_time = claims.get("auth_time")
    now = utcnow().timestamp()
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool) \
            or now - auth_time > stepup.window().total_seconds() + oidc.LEEWAY:
        return "mfa_claim_stale"
    return "mfa_trusted"


def finish(args: Mapping[str, str], binding: str | None, redirect_uri: str) -> Finished:
    """The provider sent the browser back: check everything, then start the session (``OidcRefused``
    otherwise, recorded, with nothing changed but the one-time request, now used)."""
    row = _claim_request(args, binding)
    assert binding is not None  # _claim_request refused a missing one
    try:
        provider = oidc.discover()
        token = oidc.exchange(provider, code=_param(args, "code"),
                              verifier=verifier_of(binding), redirect_uri=redirect_uri)
        claims = oidc.validate(provider, token)
    except oidc.OidcRefused as exc:
        raise _refuse(exc.reason) from exc
    if not hmac.compare_digest(_digest(claims["nonce"]), row.nonce_hash):
        raise _refuse("bad_nonce")
    iss, sub = str(claims["iss"]), str(claims["sub"])
    found = db.session.execute(
        select(OidcIdentity).where(OidcIdentity.issuer == iss, OidcIdentity.subject == sub)
    ).scalar_one_or_none()
    user = db.session.get(User, found.user_id) if found else None
    if user is None:
        raise _refuse(f"unknown_subject;subject={subject_tag(iss, sub)}")
    if found is not None and found.approved_at is None:
        raise _refuse("link_pending", user=user)  # a second admin has not approved the link
    settings = settings_of(user.organisation_id)
    refusal = ("inactive" if not user.active
               else "awaiting_approval" if user.approval_pending
               else "organisation_inactive" if not user.organisation.active
               else "sso_disabled" if settings is None or not settings.enabled
               else "locked" if throttle.is_locked(user.username) else None)
    if refusal is not None or settings is None:
        raise _refuse(refusal or "sso_disabled", user=user)
    trust = _trusted(settings, claims, user)
    with transaction():
        sessions.start(user)
        record(Action.AUTH_LOGIN, object_type=ObjectType.USER, object_id=user.id, actor=user,
               reason=f"sso;{trust}")
        if trust == "mfa_trusted":
            stepup.second_factor_passed(user, method="provider")
            record(Action.AUTH_MFA_VERIFIED, object_type=ObjectType.USER, object_id=user.id,
                   actor=user, reason="provider_mfa")
    return Finished(user, trust == "mfa_trusted")


# --- Administration -----------------------------------------------------------------------------

class SsoError(ValueError):
    """A link or a setting refused; the message is safe to show."""


SUBJECT_TAKEN = _l("This subject is already linked to another account.")
SUBJECT_INVALID = _l("Type the account's subject exactly as the provider names it (at most "
                     "255 characters, no spaces at either end, no control characters).")
ALREADY_LINKED = _l("This account is already linked to a subject: unlink it first.")
NOT_CONFIGURED = _l("Single sign-on is not set up on this instance.")


def clean_subject(raw: str | None) -> str:
    """A subject as typed, or ``SsoError``: kept exactly (subjects are case-sensitive)."""
    value = raw or ""
    if (not value or value != value.strip() or len(value) > SUBJECT_MAX
            or any(unicodedata.category(c)[0] == "C" for c in value)):
        raise SsoError(str(SUBJECT_INVALID))
    return value


def link(admin: User, user: User, raw_subject: str | None, *, approved: bool = True) -> None:
    """Link ``user`` to the provider's subject (audited with the subject's tag only).
    ``approved=False``: the link waits for a second admin (``approve_link``); the caller asks
    for that approval (``app.admin.grants``)."""
    if not oidc.configured():
        raise SsoError(str(NOT_CONFIGURED))
    subject = clean_subject(raw_subject)
    iss = oidc.issuer()
    tag = subject_tag(iss, subject)
    taken = db.session.execute(select(OidcIdentity.user_id).where(
        OidcIdentity.issuer == iss, OidcIdentity.subject == subject)).scalar_one_or_none()
    problem = (SUBJECT_TAKEN if taken is not None and taken != user.id
               else ALREADY_LINKED if identity_of(user) is not None else None)
    with transaction():
        if problem is not None:
            record(Action.USER_SSO_LINK, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED,
                   reason=f"{'subject_taken' if problem is SUBJECT_TAKEN else 'already_linked'}"
                          f";subject={tag}")
        else:
            now = utcnow()
            db.session.add(OidcIdentity(user_id=user.id, issuer=iss, subject=subject,
                                        linked_at=now, linked_by_id=admin.id,
                                        approved_at=now if approved else None,
                                        approved_by_id=admin.id if approved else None))
            record(Action.USER_SSO_LINK, object_type=ObjectType.USER, object_id=user.id,
                   reason=f"subject={tag}" + ("" if approved else ";awaiting_approval"))
    if problem is not None:
        raise SsoError(str(problem))


def pending_link(user: User) -> OidcIdentity | None:
    """The account's link waiting for a second admin, if any."""
    found = identity_of(user)
    return found if found is not None and found.approved_at is None else None


def approve_link(user: User, approver: User) -> None:
    """A second admin approved the account's waiting link (in the caller's transaction; the
    approval itself is the grant's event)."""
    found = pending_link(user)
    if found is not None:
        found.approved_at, found.approved_by_id = utcnow(), approver.id


def drop_pending_link(user: User) -> None:
    """The approval was refused: the waiting link goes (in the caller's transaction)."""
    found = pending_link(user)
    if found is not None:
        db.session.delete(found)


def unlink(user: User) -> bool:
    """Remove the account's link (it signs in with its password again). False: none."""
    found = identity_of(user)
    with transaction():
        if found is not None:
            db.session.delete(found)
        record(Action.USER_SSO_UNLINK, object_type=ObjectType.USER, object_id=user.id,
               outcome=Outcome.ALLOWED if found else Outcome.DENIED,
               reason=None if found else "not_linked")
    return found is not None


@dataclass(frozen=True)
class SsoSettings:
    """What the organisation's settings form says."""

    enabled: bool
    trust_mfa: bool
    mfa_amr: str
    mfa_acr: str


def save_settings(organisation: Organisation, wanted: SsoSettings, *,
                  expected_version: Any) -> OrganisationSso:
    """Save an organisation's single sign-on settings (refused when someone saved them first;
    version 0: none saved yet)."""
    row = settings_of(organisation.id)
    if row is None:
        if str(expected_version) != "0":
            raise DirectoryStale(None)
        row = OrganisationSso(organisation_id=organisation.id, enabled=False, trust_mfa=False,
                              mfa_amr=DEFAULT_AMR, mfa_acr="")
        db.session.add(row)
    else:
        check_version(row, expected_version, DirectoryStale)
    amr = " ".join(wanted.mfa_amr.split()) or DEFAULT_AMR
    with saving(row, DirectoryStale):
        row.enabled, row.trust_mfa = wanted.enabled, wanted.trust_mfa
        row.mfa_amr, row.mfa_acr = amr, wanted.mfa_acr.strip()
        row.updated_at = utcnow()
        record(Action.ORGANISATION_SSO_UPDATE, object_type=ObjectType.ORGANISATION,
               object_id=organisation.id,
               reason=f"enabled={'yes' if wanted.enabled else 'no'};"
                      f"trust_mfa={'yes' if wanted.trust_mfa else 'no'}")
    return row
