"""Writes for administration: accounts and the directory. Each one is audited and commits.

Role changes, deactivation, password and MFA resets end the user's sessions at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.admin.models import Organisation, SafeSpace, Service, Site
from app.audit.actions import Action
from app.audit.writer import record
from app.auth import passwords, sessions
from app.auth.models import RecoveryCode, User
from app.auth.policy import Role
from app.clock import utcnow
from app.db import db, transaction


class AccountError(ValueError):
    """Bad input for an account; the message names the field and is safe to show."""


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
    """Refuse inconsistent accounts (role, places, service) with a clear message."""
    try:
        role = Role(spec.role)
    except ValueError:
        raise AccountError(f"Unknown role '{spec.role}'.") from None
    name = spec.username.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise AccountError("Username: 1 to 64 letters, digits, dots, dashes or underscores.")
    clash = db.session.execute(
        select(User.id).where(User.username == name.casefold())
    ).scalar_one_or_none()
    if clash is not None and (existing is None or clash != existing.id):
        raise AccountError("That username is taken.")
    if not spec.display_name.strip() or len(spec.display_name) > 120:
        raise AccountError("Display name: 1 to 120 characters.")
    for site in spec.sites:
        if site.organisation_id != spec.organisation.id:
            raise AccountError(f"Site '{site.name}' belongs to another organisation.")
    for space in spec.safe_spaces:
        if space.organisation_id != spec.organisation.id:
            raise AccountError(f"Safe space '{space.name}' belongs to another organisation.")
    if role in (Role.CASEWORKER, Role.SUPERVISOR, Role.WGSS_COORDINATOR) and not spec.sites:
        raise AccountError("This role needs at least one site.")
    if role is Role.WGSS_COORDINATOR and not spec.safe_spaces:
        raise AccountError("A safe-space coordinator needs at least one safe space.")
    if role is not Role.WGSS_COORDINATOR and spec.safe_spaces:
        raise AccountError("Only safe-space coordinators are given safe spaces.")
    if role is Role.SERVICE_PROVIDER:
        if spec.service is None:
            raise AccountError("A service provider needs a service.")
        if spec.service.organisation_id != spec.organisation.id:
            raise AccountError("The service must belong to the user's organisation.")
    elif spec.service is not None:
        raise AccountError("Only service providers are given a service.")


def create_user(spec: AccountSpec, password: str, *, must_change: bool = False,
                is_demo: bool = False) -> User:
    """Create an account (audited). Raises ``AccountError`` and changes nothing on bad input."""
    check_spec(spec)
    found = passwords.problems(password, username=spec.username)
    if found:
        raise AccountError("Password: " + " ".join(found))
    with transaction():
        user = User(
            username=spec.username.strip().casefold(), display_name=spec.display_name.strip(),
            organisation_id=spec.organisation.id, role=spec.role, language=spec.language,
            service_id=spec.service.id if spec.service else None,
            password_hash=passwords.hash_password(password), password_changed_at=utcnow(),
            must_change_password=must_change, is_demo=is_demo,
        )
        user.sites = list(spec.sites)
        user.safe_spaces = list(spec.safe_spaces)
        db.session.add(user)
        db.session.flush()
        record(Action.USER_CREATE, object_type="user", object_id=user.id, reason=spec.role)
    return user


def update_user(user: User, spec: AccountSpec, *, expected_version: int) -> None:
    """Change an account; a role change ends its sessions. Stale ``expected_version`` refuses."""
    check_spec(spec, existing=user)
    if user.version != expected_version:
        raise AccountError("Someone else changed this account meanwhile. Reload and try again.")
    role_changed = user.role != spec.role
    with transaction():
        user.username = spec.username.strip().casefold()
        user.display_name = spec.display_name.strip()
        user.role = spec.role
        user.language = spec.language
        user.service_id = spec.service.id if spec.service else None
        user.sites = list(spec.sites)
        user.safe_spaces = list(spec.safe_spaces)
        record(Action.USER_UPDATE, object_type="user", object_id=user.id)
        if role_changed:
            sessions.revoke_all(user.id, "role_changed")
            record(Action.USER_ROLE_CHANGE, object_type="user", object_id=user.id,
                   reason=spec.role)


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate (ending every session at once) or reactivate an account."""
    if actor is not None and actor.id == user.id and not active:
        raise AccountError("You cannot deactivate your own account.")
    with transaction():
        user.active = active
        if not active:
            sessions.revoke_all(user.id, "deactivated")
        record(Action.USER_REACTIVATE if active else Action.USER_DEACTIVATE,
               object_type="user", object_id=user.id)


def reset_mfa(user: User) -> None:
    """Forget the account's TOTP secret and recovery codes; it enrols again at next login."""
    with transaction():
        user.totp_secret_sealed = None
        user.mfa_enrolled_at = None
        user.totp_last_step = 0
        db.session.execute(
            RecoveryCode.__table__.update()
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        sessions.revoke_all(user.id, "mfa_reset")
        record(Action.USER_MFA_RESET, object_type="user", object_id=user.id)


def end_sessions(user: User) -> int:
    """End every session of an account."""
    with transaction():
        count = sessions.revoke_all(user.id, "ended_by_admin")
        record(Action.USER_SESSIONS_REVOKED, object_type="user", object_id=user.id,
               reason=str(count))
    return count


# --- Directory ---------------------------------------------------------------------------

def _audited_save(obj: Any, action: Action, object_type: str) -> None:
    with transaction():
        db.session.add(obj)
        db.session.flush()
        record(action, object_type=object_type, object_id=obj.id)


def create_organisation(name: str) -> Organisation:
    """Add an organisation."""
    org = Organisation(name=name.strip())
    _audited_save(org, Action.ORGANISATION_CREATE, "organisation")
    return org


def create_site(org: Organisation, name: str, code: str) -> Site:
    """Add a site of ``org``; ``code`` prefixes its case numbers."""
    site = Site(organisation_id=org.id, name=name.strip(), code=code.strip().upper())
    _audited_save(site, Action.SITE_CREATE, "site")
    return site


def create_safe_space(org: Organisation, site: Site, name: str, kind: str = "static",
                      opened_on: Any = None) -> SafeSpace:
    """Add a safe space at one of ``org``'s sites."""
    if site.organisation_id != org.id:
        raise AccountError("The site belongs to another organisation.")
    space = SafeSpace(organisation_id=org.id, site_id=site.id, name=name.strip(), kind=kind,
                      opened_on=opened_on)
    _audited_save(space, Action.SAFE_SPACE_CREATE, "safe_space")
    return space


def create_service(org: Organisation, name: str, service_type: str,
                   sites: Sequence[Site] = ()) -> Service:
    """Add a service to the referral directory."""
    service = Service(organisation_id=org.id, name=name.strip(), service_type=service_type)
    service.sites = list(sites)
    _audited_save(service, Action.SERVICE_CREATE, "service")
    return service


def update_record(obj: Any, values: dict[str, Any], *, expected_version: int, action: Action,
                  object_type: str) -> None:
    """Apply admin edits to a directory record with an optimistic-lock check."""
    if obj.version != expected_version:
        raise AccountError("Someone else changed this record meanwhile. Reload and try again.")
    with transaction():
        for key, value in values.items():
            setattr(obj, key, value)
        record(action, object_type=object_type, object_id=obj.id)


def get(model: type, record_id: uuid.UUID) -> Any:
    """Load a directory record or account by id (admins see all of them)."""
    return db.session.get(model, record_id)
