"""The admin's home panel: the accounts of the admin's own organisation that need a look, and
the age of the active key-encryption key.

- accounts not yet enrolled in two-step verification (active, not waiting for approval);
- locked accounts: those the login throttle holds now (``app.auth.throttle.is_locked``), found
  among the accounts whose lockout the trail recorded within the lockout window, so the
  throttle's store is asked about a few accounts, not all;
- accounts unused for ``UNUSED_DAYS``: active, and neither signed in (the newest
  ``auth_sessions.last_seen_at``) nor created within that time; each with a button to the
  existing deactivation (``admin.user_action``, which records it and ends the account's
  sessions);
- the active key-encryption key's version, its age and when rotation is due
  (``KEK_ROTATION_DAYS`` after it was created), with a warning once overdue.

Accounts of other organisations are never counted. Lists show an account's username and display
name (staff, never survivors), each linking to its account page, at most ``LISTED`` of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select

from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.auth import throttle
from app.auth.models import AuthSession, User
from app.auth.policy import Permission, can
from app.clock import utcnow
from app.config import ConfigError
from app.core import hooks
from app.core.home import Panel
from app.core.ids import parse_uuid
from app.crypto.keyring import keyring
from app.crypto.models import KekVersion
from app.db import db

UNUSED_DAYS = 90
LISTED = 10


@dataclass(frozen=True)
class Account:
    """An account in a list of the panel (staff only: username and display name)."""

    id: uuid.UUID
    username: str
    display_name: str
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Listed:
    """Up to ``LISTED`` accounts, and how many there are in all."""

    accounts: list[Account]
    total: int


@dataclass(frozen=True)
class KekAge:
    """The active key-encryption key: its version, when it was made and when rotation is due."""

    version: int
    created_at: datetime
    age_days: int
    due_at: datetime
    overdue_days: int   # 0 while rotation is not yet due
    rotation_days: int


def _own(user: User) -> list[ColumnElement[bool]]:
    """Active accounts of the admin's own organisation."""
    return [User.organisation_id == user.organisation_id, User.active.is_(True)]


def _listed(where: list[ColumnElement[bool]], *, order: Any, last_seen: Any = None) -> Listed:
    columns = [User.id, User.username, User.display_name] + ([last_seen] if last_seen is not None else [])
    total = int(db.session.execute(select(func.count(User.id)).where(*where)).scalar_one())
    rows = db.session.execute(select(*columns).where(*where).order_by(*order).limit(LISTED)).all()
    return Listed([Account(row[0], row[1], row[2], row[3] if last_seen is not None else None)
                   for row in rows], total)


def not_enrolled(user: User) -> Listed:
    """Accounts that have not set up two-step verification (those waiting for a second admin's
    approval cannot sign in yet, and are left to the access approvals)."""
    return _listed(_own(user) + [User.mfa_enrolled_at.is_(None), User.approval_pending.is_(False)],
                   order=[User.username])


def locked(user: User, now: datetime) -> list[Account]:
    """Accounts the login throttle holds locked now."""
    window = timedelta(minutes=2 * int(current_app.config["LOGIN_LOCKOUT_MINUTES"]))
    recent = db.session.execute(
        select(AuditEvent.object_id).where(AuditEvent.action == Action.AUTH_LOCKOUT.value,
                                           AuditEvent.occurred_at >= now - window)
        .distinct()).scalars()
    ids = {found for value in recent if (found := parse_uuid(value)) is not None}
    if not ids:
        return []
    rows = db.session.execute(
        select(User.id, User.username, User.display_name)
        .where(*_own(user), User.id.in_(ids)).order_by(User.username)).all()
    return [Account(row.id, row.username, row.display_name) for row in rows
            if throttle.is_locked(row.username)]


def unused(user: User, now: datetime) -> Listed:
    """Accounts neither signed in to nor created in the last ``UNUSED_DAYS`` days, the longest
    unused first (the admin looking has just signed in, so is never one)."""
    last_seen = (select(func.max(AuthSession.last_seen_at))
                 .where(AuthSession.user_id == User.id).correlate(User).scalar_subquery())
    since = func.coalesce(last_seen, User.created_at)
    return _listed(_own(user) + [since < now - timedelta(days=UNUSED_DAYS)],
                   order=[since, User.username], last_seen=last_seen.label("last_seen"))


def kek_age(now: datetime) -> KekAge | None:
    """The active key-encryption key's age and rotation date (None when it cannot be told)."""
    try:
        version = keyring().active_version
    except ConfigError:
        return None
    row = db.session.get(KekVersion, version)
    if row is None:
        return None
    days = int(current_app.config.get("KEK_ROTATION_DAYS", 365))
    due = row.created_at + timedelta(days=days)
    return KekAge(version, row.created_at, max((now - row.created_at).days, 0), due,
                  max((now - due).days, 0) if now >= due else 0, days)


@hooks.home_panels.subscribe
def admin_panels(user: Any) -> list[Panel]:
    """Accounts and keys, for those who manage accounts (admins)."""
    if not can(user, Permission.ADMIN_USERS):
        return []
    now = utcnow()
    kek = kek_age(now)
    return [Panel("admin", _l("Accounts and keys"), "admin/home_admin.html", {
        "not_enrolled": not_enrolled(user), "locked": locked(user, now),
        "unused": unused(user, now), "unused_days": UNUSED_DAYS, "kek": kek,
        "kek_overdue": kek is not None and now >= kek.due_at,
        "lockout_minutes": int(current_app.config["LOGIN_LOCKOUT_MINUTES"]),
    }, order=20)]
