"""Writes for administration: accounts and the directory. Each one is audited and commits.

Role changes, deactivation, password and MFA resets end the user's sessions at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.admin import grants, names
from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import passkey_keys, passwords, sessions
from app.auth.models import RecoveryCode, RoleGrant, User
from app.auth.policy import Place, Role, places_needed
from app.clock import utcnow
from app.core.hooks import scope_narrowed
from app.core.versioning import Stale, check_version, saving
from app.db import db, transaction
from app.directory.models import Organisation, SafeSpace, Service, Site
from app.submissions.service import Submission, claim


class AccountError(ValueError):
    """Bad input for an account; the message names the field and is safe to show."""


class AccountStale(AccountError, Stale):
    """Someone else saved the account or record first (``app.core.versioning``); nothing saved."""

    message = _l("Someone else changed this record meanwhile. Nothing was saved: reload and "
                 "try again.")


@dataclass
class AccountSpec:
    """What an admin (or the CLI) says about an account."""

    username: str
    display_name: str
    role: str
    organisation: Organisation
    sites: Sequence[Site] = ()
    safe_spaces: Sequence[SafeSpace] = ()
    service: Service | None = None
    language: str = "en"
    extra: dict[str, Any] = field(default_factory=dict)


def check_spec(spec: AccountSpec, *, existing: User | None = None) -> None:
    """Refuse inconsistent accounts (role, places, service) and confusable names with a clear
    message; the names are stored in the form ``clean_username``/``clean_display_name`` give."""
    try:
        Role(spec.role)
    except ValueError:
        raise AccountError(f"Unknown role '{spec.role}'.") from None
    try:
        name = names.clean_username(spec.username)
        display = names.clean_display_name(spec.display_name)
    except names.NameRefused as exc:
        raise AccountError(str(exc)) from None
    clash = db.session.execute(
        select(User.id).where(User.username == name)
    ).scalar_one_or_none()
    if clash is not None and (existing is None or clash != existing.id):
        raise AccountError(_("That username is taken."))
    try:
        names.check_unconfusable(name, display, existing=existing.id if existing else None)
    except names.NameRefused as exc:
        raise AccountError(str(exc)) from None
    for site in spec.sites:
        if site.organisation_id != spec.organisation.id:
            raise AccountError(f"Site '{site.name}' belongs to another organisation.")
    for space in spec.safe_spaces:
        if space.organisation_id != spec.organisation.id:
            raise AccountError(f"Safe space '{space.name}' belongs to another organisation.")
    needs = places_needed(spec.role)  # the policy says which places each role needs
    if Place.SITES in needs and not spec.sites:
        raise AccountError("This role needs at least one site.")
    if Place.SAFE_SPACES in needs and not spec.safe_spaces:
        raise AccountError("A safe-space coordinator needs at least one safe space.")
    if Place.SAFE_SPACES not in needs and spec.safe_spaces:
        raise AccountError("Only safe-space coordinators are given safe spaces.")
    if Place.SERVICE in needs:
        if spec.service is None:
            raise AccountError("A service provider needs a service.")
        if spec.service.organisation_id != spec.organisation.id:
            raise AccountError("The service must belong to the user's organisation.")
    elif spec.service is not None:
        raise AccountError("Only service providers are given a service.")


def create_user(spec: AccountSpec, password: str, *, actor: User | None = None,
                must_change: bool = False, is_demo: bool = False,
                bootstrap: bool = False, once: Submission | None = None) -> User:
    """Create an account (audited). Raises ``AccountError`` and changes nothing on bad input.

    A role in ``grants.GATED_ROLES`` makes the account wait for a second admin: it is created
    without sites, safe spaces or service and cannot sign in, and a pending grant holds what was
    asked. ``bootstrap`` (the command line's first admins, the demo seed) skips that.
    ``once``, the form's one-time token, is claimed with the account (``AlreadySaved``).
    """
    check_spec(spec)
    found = passwords.problems(password, username=spec.username)
    if found:
        raise AccountError("Password: " + " ".join(found))
    gated = not bootstrap and grants.needs_approval(None, spec)
    with transaction():
        user = User(
            username=names.clean_username(spec.username),
            display_name=names.clean_display_name(spec.display_name),
            organisation_id=spec.organisation.id, role=spec.role, language=spec.language,
            service_id=spec.service.id if spec.service and not gated else None,
            password_hash=passwords.hash_password(password), password_changed_at=utcnow(),
            must_change_password=must_change, is_demo=is_demo, approval_pending=gated,
        )
        if not gated:
            user.sites = list(spec.sites)
            user.safe_spaces = list(spec.safe_spaces)
        db.session.add(user)
        db.session.flush()
        record(Action.USER_CREATE, object_type=ObjectType.USER, object_id=user.id,
               reason=f"{spec.role};bootstrap" if bootstrap and not is_demo else spec.role)
        if gated:
            grants.request(actor, user, spec, new_account=True)
        claim(once, ObjectType.USER, user.id)
    return user


def _scope_changed(user: User, org_id: uuid.UUID, sites: Sequence[Site],
                   spaces: Sequence[SafeSpace], service: Service | None) -> bool:
    return (org_id != user.organisation_id
            or {s.id for s in sites} != {s.id for s in user.sites}
            or {s.id for s in spaces} != {s.id for s in user.safe_spaces}
            or (service.id if service else None) != user.service_id)


def _set_scope(user: User, role: str, org_id: uuid.UUID, sites: Sequence[Site],
               spaces: Sequence[SafeSpace], service: Service | None) -> None:
    """Give ``user`` exactly this scope; a change of role or place ends every session and
    (through the ``scope_narrowed`` hook, answered by cases) every case assignment outside it
    (audited). Call inside a transaction."""
    role_changed = role != user.role
    moved = _scope_changed(user, org_id, sites, spaces, service)
    if org_id != user.organisation_id:
        user.pledge_accepted = None  # a number of the old organisation's pledge: accept anew
    user.role = role
    user.organisation_id = org_id
    user.service_id = service.id if service else None
    user.sites = list(sites)
    user.safe_spaces = list(spaces)
    if not (role_changed or moved):
        return
    db.session.flush()
    ended = sessions.revoke_all(user.id, "role_changed" if role_changed else "scope_changed")
    if role_changed:
        record(Action.USER_ROLE_CHANGE, object_type=ObjectType.USER, object_id=user.id,
               reason=role)
    if moved:
        record(Action.USER_SCOPE_CHANGE, object_type=ObjectType.USER, object_id=user.id,
               reason=f"sessions_ended={ended}")
    scope_narrowed.emit(user=user)


def apply_scope(user: User, spec: AccountSpec) -> None:
    """Give ``user`` the role and places of ``spec`` (see ``_set_scope``)."""
    _set_scope(user, spec.role, spec.organisation.id, spec.sites, spec.safe_spaces, spec.service)


def update_user(user: User, spec: AccountSpec, *, expected_version: int,
                actor: User | None = None) -> RoleGrant | None:
    """Change an account. Names and language apply at once; so does any narrowing of access.
    Widening gated access waits for a second admin: the pending grant is returned. An admin
    cannot change their own role, organisation or places. Stale ``expected_version`` refuses."""
    check_spec(spec, existing=user)
    check_version(user, expected_version, AccountStale)
    if actor is not None and actor.id == user.id and (
            spec.role != user.role
            or _scope_changed(user, spec.organisation.id, spec.sites, spec.safe_spaces,
                              spec.service)):
        with transaction():
            record(Action.USER_UPDATE, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED, reason="own_access")
        raise AccountError(_("You cannot change your own role, organisation or sites; ask "
                             "another admin."))
    gated = grants.needs_approval(user, spec)
    grant = None
    with saving(user, AccountStale):
        user.username = names.clean_username(spec.username)
        user.display_name = names.clean_display_name(spec.display_name)
        user.language = spec.language
        record(Action.USER_UPDATE, object_type=ObjectType.USER, object_id=user.id)
        if gated:
            sites, spaces, service = grants.narrowed(user, spec)
            _set_scope(user, user.role, user.organisation_id, sites, spaces, service)
            grant = grants.request(actor, user, spec, new_account=user.approval_pending)
        else:
            if spec.role != user.role or _scope_changed(
                    user, spec.organisation.id, spec.sites, spec.safe_spaces, spec.service):
                grants.supersede(user)  # an older request must not undo this change
            user.approval_pending = False  # nothing left to approve
            apply_scope(user, spec)
    return grant


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate (ending every session at once) or reactivate an account."""
    if actor is not None and actor.id == user.id and not active:
        raise AccountError("You cannot deactivate your own account.")
    with transaction():
        user.active = active
        if not active:
            sessions.revoke_all(user.id, "deactivated")
        record(Action.USER_REACTIVATE if active else Action.USER_DEACTIVATE,
               object_type=ObjectType.USER, object_id=user.id)


def reset_mfa(user: User) -> None:
    """Forget the account's TOTP secret, recovery codes and passkeys; it enrols again at next
    login (and registers a passkey again if its role requires one)."""
    with transaction():
        removed = passkey_keys.forget_all(user)
        user.totp_secret_sealed = None
        user.mfa_enrolled_at = None
        user.totp_last_step = 0
        db.session.execute(
            RecoveryCode.__table__.update()
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        sessions.revoke_all(user.id, "mfa_reset")
        record(Action.USER_MFA_RESET, object_type=ObjectType.USER, object_id=user.id,
               reason=f"passkeys={removed}" if removed else None)


def end_sessions(user: User) -> int:
    """End every session of an account."""
    with transaction():
        count = sessions.revoke_all(user.id, "ended_by_admin")
        record(Action.USER_SESSIONS_REVOKED, object_type=ObjectType.USER, object_id=user.id,
               reason=str(count))
    return count
