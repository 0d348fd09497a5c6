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
from sqlalchemy.orm import joinedload

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Permission, Role, can
from app.cases.models import BreakGlassGrant, Case, CaseTransfer
from app.cases.rules import is_writable
from app.clock import utcnow
from app.crypto import envelope
from app.crypto.models import DataKey
from app.db import db
from app.sqlhints import not_an_index


def site_ids(user: User) -> list[uuid.UUID]:
    """The user's site ids."""
    return [s.id for s in user.sites]


def case_scope(user: User, *, drive: bool = True) -> ColumnElement[bool]:
    """SQL condition selecting the cases ``user`` may see and change in lists and searches.

    ``drive=False`` when the query is driven by a few rows of another table (unexpired
    grants): the scope is then only checked on the cases they name (``app.sqlhints``)."""
    hint: Any = (lambda c: c) if drive else not_an_index
    if user.role == Role.CASEWORKER:
        # Assignment alone is not enough: a caseworker moved to another organisation or site
        # loses the cases there even if an assignment was left behind.
        # Found through the two worker indexes: the organisation and site are checked on
        # those few hundred cases, never used to read every case of the site (app.sqlhints).
        return and_(not_an_index(Case.organisation_id) == user.organisation_id,
                    not_an_index(Case.site_id).in_(site_ids(user)),
                    or_(hint(Case.primary_worker_id) == user.id,
                        hint(Case.secondary_worker_id) == user.id))
    if user.role == Role.SUPERVISOR:
        # By site (a site belongs to one organisation, checked too but never used to read the
        # whole organisation's cases: app.sqlhints).
        return and_(not_an_index(Case.organisation_id) == user.organisation_id,
                    hint(Case.site_id).in_(site_ids(user)))
    return false()


def worker_scoped(user: User) -> bool:
    """Whether ``case_scope(user)`` is a worker's own cases (a few hundred, found through the
    worker indexes): a query over them should be driven by the cases, not by an index on the
    other table's status, which matches thousands (``app.sqlhints.not_an_index``)."""
    return user.role == Role.CASEWORKER


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


def _with_key(*where: Any) -> Case | None:
    """The case matching ``where``, its wrapped data key read in the same statement and
    unwrapped for the request (``envelope.prime``): every case page opens or seals values
    under it, and reading it apart cost a statement of its own. Its two workers come joined
    too: every case page names them."""
    row = db.session.execute(
        select(Case, DataKey.kek_version, DataKey.wrapped)
        .outerjoin(DataKey, DataKey.id == Case.data_key_id).where(*where)
        .options(joinedload(Case.primary_worker), joinedload(Case.secondary_worker))
    ).one_or_none()
    if row is None:
        return None
    case: Case = row[0]
    envelope.prime(case.data_key_id, row[1], row[2])
    return case


def load_case(user: User, case_id: uuid.UUID, *, write: bool = False,
              action: Action | None = None, shown_as: Action = Action.CASE_VIEW) -> CaseAccess:
    """Load a case through the user's scope or answer 404 (audited as denied).

    With ``write=True`` a break-glass grant does not suffice (it is read-only): a case reached
    only through one is answered 404 and audited as denied. A closed case still loads, since
    reopening and erasure act on it; every other write on it is refused by the service
    (``app.cases.rules.ensure_writable``), the one place that rule lives. A GET is recorded here
    as ``case.view`` (or ``shown_as``: a printed summary is ``case.print``); writes record
    their own event.
    """
    case = _with_key(Case.id == case_id, case_scope(user))
    read_only = False
    glass = False
    if case is None and not write and break_glass_active(user, case_id) is not None:
        case = _with_key(Case.id == case_id, Case.organisation_id == user.organisation_id)
        read_only = glass = case is not None
    if case is None:
        audit.deny_404(action or Action.CASE_VIEW, ObjectType.CASE, case_id)
    if has_request_context() and request.method == "GET":
        # Every page that shows anything of a case is an access to it, recorded (and committed)
        # before the page is built; the reason names the page, or flags break-glass.
        audit.read(shown_as, ObjectType.CASE, case.id,
                   reason="break_glass" if glass else request.endpoint)
    return CaseAccess(case, read_only=read_only, break_glass=glass)


def scoped_ids(user: User, ids: list[Any]) -> set[uuid.UUID]:
    """Which of ``ids`` are cases in the user's scope."""
    if not ids:
        return set()
    rows = db.session.execute(select(Case.id).where(Case.id.in_(ids), case_scope(user))).scalars()
    return set(rows)


def incoming_scope(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the pending transfer requests ``user`` may decide on: those to
    their organisation, for one of their sites or for none in particular, by an account that
    assigns cases (the receiving supervisor)."""
    if not can(user, Permission.CASE_ASSIGN):
        return false()
    return and_(CaseTransfer.to_organisation_id == user.organisation_id,
                CaseTransfer.status == "pending", CaseTransfer.case_id.is_not(None),
                or_(CaseTransfer.to_site_id.is_(None),
                    CaseTransfer.to_site_id.in_(site_ids(user))))


def load_transfer(user: User, transfer_id: uuid.UUID, *,
                  action: Action = Action.CASE_TRANSFER_VIEW) -> CaseTransfer:
    """A pending transfer request the user may decide on, or 404 (audited as denied); a GET
    records the view. A request decided, cancelled, or addressed elsewhere is answered like a
    missing one."""
    found: CaseTransfer | None = db.session.execute(
        select(CaseTransfer).where(CaseTransfer.id == transfer_id, incoming_scope(user))
    ).scalar_one_or_none()
    if found is None:
        audit.deny_404(action, ObjectType.CASE_TRANSFER, transfer_id)
    if has_request_context() and request.method == "GET":
        audit.read(Action.CASE_TRANSFER_VIEW, ObjectType.CASE_TRANSFER, found.id)
    return found
