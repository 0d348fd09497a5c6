"""Which cases a user may touch: the record scopes of the policy for cases.

Caseworkers: cases assigned to them (primary or secondary) at their organisation's sites that
they hold. Supervisors: every case of their
organisation at their sites, and, through an unexpired break-glass grant, read-only access to
one case of their organisation elsewhere. Every other role: none. A case outside the scope is
answered exactly like a case that does not exist (404), and the attempt is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import has_request_context, request
from sqlalchemy import ColumnElement, and_, false, or_, select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Role
from app.cases.models import BreakGlassGrant, Case
from app.cases.rules import is_writable
from app.clock import utcnow
from app.db import db


def site_ids(user: User) -> list[uuid.UUID]:
    """The user's site ids."""
    return [s.id for s in user.sites]


def case_scope(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the cases ``user`` may see and change in lists and searches."""
    if user.role == Role.CASEWORKER:
        # Assignment alone is not enough: a caseworker moved to another organisation or site
        # loses the cases there even if an assignment was left behind.
        return and_(Case.organisation_id == user.organisation_id, Case.site_id.in_(site_ids(user)),
                    or_(Case.primary_worker_id == user.id, Case.secondary_worker_id == user.id))
    if user.role == Role.SUPERVISOR:
        return and_(Case.organisation_id == user.organisation_id, Case.site_id.in_(site_ids(user)))
    return false()


def break_glass_active(user: User, case_id: uuid.UUID) -> BreakGlassGrant | None:
    """The user's unexpired break-glass grant for this case, if any."""
    if user.role != Role.SUPERVISOR:
        return None
    grant: BreakGlassGrant | None = db.session.execute(
        select(BreakGlassGrant).where(BreakGlassGrant.case_id == case_id,
                                      BreakGlassGrant.supervisor_id == user.id,
                                      BreakGlassGrant.expires_at > utcnow())
        .order_by(BreakGlassGrant.expires_at.desc())
    ).scalars().first()
    return grant


class CaseAccess:
    """A case loaded through the scope, and how it may be used."""

    def __init__(self, case: Case, *, read_only: bool, break_glass: bool) -> None:
        self.case = case
        self.read_only = read_only
        self.break_glass = break_glass

    @property
    def writable(self) -> bool:
        """Whether saves through this access would be accepted (not break-glass, not closed)."""
        return not self.read_only and is_writable(self.case)


def load_case(user: User, case_id: uuid.UUID, *, write: bool = False,
              action: Action | None = None) -> CaseAccess:
    """Load a case through the user's scope or answer 404 (audited as denied).

    With ``write=True`` a break-glass grant does not suffice (it is read-only): a case reached
    only through one is answered 404 and audited as denied. A closed case still loads, since
    reopening and erasure act on it; every other write on it is refused by the service
    (``app.cases.rules.ensure_writable``), the one place that rule lives. A GET is recorded here
    as ``case.view``; writes record their own event.
    """
    case = db.session.execute(
        select(Case).where(Case.id == case_id, case_scope(user))
    ).scalar_one_or_none()
    read_only = False
    glass = False
    if case is None and not write and break_glass_active(user, case_id) is not None:
        case = db.session.execute(
            select(Case).where(Case.id == case_id, Case.organisation_id == user.organisation_id)
        ).scalar_one_or_none()
        read_only = glass = case is not None
    if case is None:
        audit.deny_404(action or Action.CASE_VIEW, ObjectType.CASE, case_id)
    if has_request_context() and request.method == "GET":
        # Every page that shows anything of a case is an access to it, recorded (and committed)
        # before the page is built; the reason names the page, or flags break-glass.
        audit.read(Action.CASE_VIEW, ObjectType.CASE, case.id,
                   reason="break_glass" if glass else request.endpoint)
    return CaseAccess(case, read_only=read_only, break_glass=glass)


def scoped_ids(user: User, ids: list[Any]) -> set[uuid.UUID]:
    """Which of ``ids`` are cases in the user's scope."""
    if not ids:
        return set()
    rows = db.session.execute(select(Case.id).where(Case.id.in_(ids), case_scope(user))).scalars()
    return set(rows)
