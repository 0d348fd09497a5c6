"""Access that needs two admins: pending grants, approval, refusal, expiry.

No admin grants survivor data alone. Giving an account a role that can see case data
(caseworker, supervisor, service provider) or that can approve such grants (admin), or widening
such an account's organisation, sites or service, is recorded here as a *pending grant*; it takes
effect only when a second admin (not the one who asked, and not the account itself) approves it
within ``GRANT_APPROVAL_HOURS`` (72). Removing access never waits: narrowing applies at once.
Every request, approval, refusal and expiry is audited and listed in the auditor's alerts.

Resetting the password or the two-step verification of such an account also waits for a second
admin: an admin who could do both alone could sign in as the person. The approving admin
receives the one-time code to hand over (for a new account too, once its access is approved).

The one exception is bootstrap, done at the server's command line (``flask users create``): the
first admin on an empty database, and a second admin while fewer than two active admins exist
(a two-person rule needs two people). It says so when it happens.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import oidc_service
from app.auth.models import RoleGrant, User
from app.auth.policy import Permission, can, roles_with
from app.clock import utcnow
from app.core.versioning import Stale, check_version
from app.db import db, transaction
from app.directory.models import Organisation, SafeSpace, Service, Site
from app.directory.queries import Listed

if TYPE_CHECKING:
    from app.admin.service import AccountSpec

# Access that reads survivor data (cases or referrals), or approves grants of it: a role holding
# any of these is gated, so a role given case access later is gated without a change here.
GATED_PERMISSIONS = (Permission.CASE_READ, Permission.REFERRAL_RECEIVE, Permission.ADMIN_USERS)
GATED_ROLES = roles_with(*GATED_PERMISSIONS)


def gated(account: object) -> bool:
    """Whether ``account`` (a user or an ``AccountSpec``) has a role whose access is gated."""
    return any(can(account, p) for p in GATED_PERMISSIONS)


KIND_LABELS = {"access": _l("Access"), "password_reset": _l("Password reset"),
               "mfa_reset": _l("Two-step verification reset"),
               "sso_link": _l("Single sign-on link")}


def kind_label(grant: RoleGrant) -> str:
    """What a request is about, translated (a new account's access says so)."""
    if grant.kind == "access" and grant.new_account:
        return str(_("Access for a new account"))
    return str(KIND_LABELS.get(grant.kind, grant.kind))


class GrantError(ValueError):
    """A grant cannot be decided; the message is safe to show."""


class GrantStale(GrantError, Stale):
    """Someone else decided or changed the request first (``app.core.versioning``)."""

    message = _l("Someone else changed this request meanwhile. Nothing was saved: reload and "
                 "try again.")


def needs_approval(user: User | None, spec: AccountSpec) -> bool:
    """Whether giving ``spec`` to ``user`` (None: a new account) widens gated access."""
    if not gated(spec):
        return False
    if user is None or user.approval_pending:
        return True
    held_sites = {s.id for s in user.sites}
    return (spec.role != user.role or spec.organisation.id != user.organisation_id
            or not {s.id for s in spec.sites} <= held_sites
            or (spec.service is not None and spec.service.id != user.service_id))


def narrowed(user: User, spec: AccountSpec) -> tuple[list[Site], list[SafeSpace], Service | None]:
    """What ``user`` keeps until a grant is decided: only what both the old scope and the
    requested one allow (the role and organisation stay as they were)."""
    wanted_sites = {s.id for s in spec.sites}
    wanted_spaces = {s.id for s in spec.safe_spaces}
    same_org = spec.organisation.id == user.organisation_id
    sites = [s for s in user.sites if same_org and s.id in wanted_sites]
    spaces = [s for s in user.safe_spaces if same_org and s.id in wanted_spaces]
    service = user.service if spec.service is not None and user.service_id == spec.service.id \
        else None
    return sites, spaces, service


def request(actor: User | None, user: User, spec: AccountSpec, *, new_account: bool,
            kind: str = "access") -> RoleGrant:
    """Record a pending grant of ``spec`` for ``user`` (call inside the caller's transaction).

    An older pending grant of the same kind for the same account is superseded, so only the
    latest request can be approved.
    """
    now = utcnow()
    supersede(user, kind)
    grant = RoleGrant(
        user_id=user.id, requested_by_id=actor.id if actor else None, created_at=now,
        expires_at=now + timedelta(hours=int(current_app.config["GRANT_APPROVAL_HOURS"])),
        status="pending", kind=kind, new_account=new_account, role=spec.role,
        organisation_id=spec.organisation.id, site_ids=[str(s.id) for s in spec.sites],
        safe_space_ids=[str(s.id) for s in spec.safe_spaces],
        service_id=spec.service.id if spec.service else None)
    db.session.add(grant)
    db.session.flush()
    record(Action.USER_GRANT_REQUEST, object_type=ObjectType.ROLE_GRANT, object_id=grant.id,
           reason=f"{kind}:{spec.role};user={user.id}")
    return grant


def credential_reset_needs_approval(user: User) -> bool:
    """Whether resetting ``user``'s password or two-step verification needs a second admin:
    for an account that reads case data or approves access, a reset by one admin of both
    would let that admin sign in as the person."""
    return gated(user) and not user.approval_pending


def request_credential_reset(actor: User, user: User, kind: str) -> RoleGrant:
    """Ask a second admin to approve a password (``password_reset``) or two-step
    (``mfa_reset``) reset of ``user``; audited."""
    from app.admin.service import AccountSpec

    assert kind in ("password_reset", "mfa_reset", "sso_link")
    if actor.id == user.id:
        raise GrantError(_("You cannot reset your own account here; use My account."))
    spec = AccountSpec(username=user.username, display_name=user.display_name, role=user.role,
                       organisation=user.organisation, sites=list(user.sites),
                       safe_spaces=list(user.safe_spaces), service=user.service)
    with transaction():
        return request(actor, user, spec, new_account=False, kind=kind)


def supersede(user: User, kind: str = "access") -> None:
    """End the account's pending grants of ``kind`` because a newer change replaces them
    (audited; call inside the caller's transaction)."""
    for older in _pending_for(user.id, kind):
        older.status = "superseded"
        older.decided_at = utcnow()
        record(Action.USER_GRANT_REFUSE, object_type=ObjectType.ROLE_GRANT, object_id=older.id,
               reason="superseded")


def _pending_for(user_id: uuid.UUID, kind: str | None = "access") -> Sequence[RoleGrant]:
    stmt = select(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.status == "pending")
    if kind is not None:
        stmt = stmt.where(RoleGrant.kind == kind)
    return db.session.execute(stmt.order_by(RoleGrant.created_at)).scalars().all()


def pending_for(user: User) -> list[RoleGrant]:
    """The account's pending requests of every kind (expired ones are marked so first)."""
    expire_due()
    return list(_pending_for(user.id, None))


def expire_due() -> int:
    """Mark pending grants past their time as expired (audited); returns how many."""
    due = db.session.execute(
        select(RoleGrant).where(RoleGrant.status == "pending", RoleGrant.expires_at <= utcnow())
    ).scalars().all()
    if not due:
        return 0
    with transaction():
        for grant in due:
            grant.status = "expired"
            grant.decided_at = utcnow()
            record(Action.USER_GRANT_EXPIRED, object_type=ObjectType.ROLE_GRANT,
                   object_id=grant.id, reason=grant.role)
    return len(due)


def listing(limit: int = 100) -> tuple[list[RoleGrant], list[RoleGrant]]:
    """Pending grants (oldest first) and the most recently decided ones."""
    expire_due()
    pending = db.session.execute(
        select(RoleGrant).where(RoleGrant.status == "pending").order_by(RoleGrant.created_at)
    ).scalars().all()
    decided = db.session.execute(
        select(RoleGrant).where(RoleGrant.status != "pending")
        .order_by(RoleGrant.decided_at.desc()).limit(limit)
    ).scalars().all()
    return list(pending), list(decided)


def pending_count() -> int:
    """How many grants wait for a second admin (not counting expired ones)."""
    return int(db.session.execute(
        select(func.count()).select_from(RoleGrant)
        .where(RoleGrant.status == "pending", RoleGrant.expires_at > utcnow())
    ).scalar_one())


def grant_spec(grant: RoleGrant) -> AccountSpec:
    """The requested scope as an account spec, from the directory as it is now."""
    from app.admin.service import AccountSpec

    def load(model: type[Listed], ids: list[str]) -> list[Listed]:
        return [obj for obj in (db.session.get(model, uuid.UUID(i)) for i in ids) if obj]

    user = grant.user
    org = db.session.get(Organisation, grant.organisation_id)
    assert org is not None
    return AccountSpec(username=user.username, display_name=user.display_name, role=grant.role,
                       organisation=org, sites=load(Site, grant.site_ids),
                       safe_spaces=load(SafeSpace, grant.safe_space_ids),
                       service=db.session.get(Service, grant.service_id)
                       if grant.service_id else None,
                       language=user.language)


def _decidable(actor: User, grant: RoleGrant, *, approving: bool) -> None:
    if grant.status != "pending":
        raise GrantError(_("This request has already been decided."))
    if grant.expires_at <= utcnow():
        expire_due()
        raise GrantError(_("This request expired; ask for the change again."))
    if actor.id == grant.user_id:
        raise GrantError(_("You cannot decide a request about your own account."))
    if approving and actor.id == grant.requested_by_id:
        raise GrantError(_("A second admin must approve a change you asked for."))


def approve(actor: User, grant: RoleGrant, *, expected_version: int) -> str | None:
    """A second admin approves: the requested scope is applied exactly, or the reset is done
    (audited). Returns the one-time code the approving admin hands over, when there is one
    (a password reset, or a new account's first code)."""
    from app.admin.service import AccountError, apply_scope, check_spec, reset_mfa
    from app.auth.service import issue_reset_token

    check_version(grant, expected_version, GrantStale)
    try:
        _decidable(actor, grant, approving=True)
    except GrantError:
        with transaction():
            record(Action.USER_GRANT_APPROVE, object_type=ObjectType.ROLE_GRANT,
                   object_id=grant.id, outcome=Outcome.DENIED, reason="not_decidable")
        raise
    user = grant.user
    spec = grant_spec(grant)
    if grant.kind == "sso_link" and oidc_service.pending_link(user) is None:
        raise GrantError(_("The single sign-on link this request was about has been removed; "
                           "link the account again."))
    if grant.kind == "access":
        try:
            check_spec(spec, existing=user)
        except AccountError as exc:
            raise GrantError(str(exc)) from None
    with transaction():
        grant.status = "approved"
        grant.decided_by_id = actor.id
        grant.decided_at = utcnow()
        if grant.kind == "access":
            user.approval_pending = False
            apply_scope(user, spec)
        elif grant.kind == "sso_link":
            oidc_service.approve_link(user, actor)
        record(Action.USER_GRANT_APPROVE, object_type=ObjectType.ROLE_GRANT, object_id=grant.id,
               reason=f"{grant.kind}:{grant.role};user={user.id}")
    if grant.kind == "mfa_reset":
        reset_mfa(user)
        return None
    if grant.kind == "password_reset" or grant.new_account:
        return issue_reset_token(actor, user)
    return None


def refuse(actor: User, grant: RoleGrant, *, expected_version: int) -> None:
    """An admin refuses (or the requester withdraws) a pending grant; nothing is applied."""
    check_version(grant, expected_version, GrantStale)
    _decidable(actor, grant, approving=False)
    with transaction():
        grant.status = "refused"
        grant.decided_by_id = actor.id
        grant.decided_at = utcnow()
        if grant.kind == "sso_link":
            oidc_service.drop_pending_link(grant.user)
        record(Action.USER_GRANT_REFUSE, object_type=ObjectType.ROLE_GRANT, object_id=grant.id,
               reason=f"{grant.kind}:{grant.role};user={grant.user_id}")


def load(grant_id: uuid.UUID) -> RoleGrant | None:
    """A grant by id (admins see all of them)."""
    return db.session.get(RoleGrant, grant_id)


def active_admins() -> int:
    """How many active admin accounts (accounts that administer users) exist (bootstrap needs
    two)."""
    return int(db.session.execute(
        select(func.count()).select_from(User)
        .where(User.role.in_(roles_with(Permission.ADMIN_USERS)), User.active.is_(True),
               User.approval_pending.is_(False))
    ).scalar_one())
