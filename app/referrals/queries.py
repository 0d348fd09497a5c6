"""Reads for referrals: a case's referrals, a service's queue, overdue and urgent ones.

The recipient's loader only finds referrals addressed to their own service that are not
revoked: anything else answers 404, audited, exactly like a referral that does not exist. Both
loaders record a GET of the referral they found as ``referral.view``, before any page shows it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import has_request_context, request
from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases.models import Case
from app.cases.scopes import case_scope, worker_scoped
from app.clock import utcnow
from app.db import db
from app.directory.models import Service
from app.referrals.models import Referral, ReferralEvent, ReferralStatus
from app.sqlhints import not_an_index

URGENCY_ORDER = sql_case({"urgent": 0, "high": 1}, value=Referral.urgency, else_=2)


def _found(found: Referral | None, referral_id: uuid.UUID, action: Action) -> Referral:
    """The referral loaded, its GET recorded (as ``action``: a view, or a print); or 404,
    recorded as ``action`` denied."""
    if found is None:
        audit.deny_404(action, ObjectType.REFERRAL, referral_id)
    if has_request_context() and request.method == "GET":
        shown = action if action == Action.REFERRAL_PRINT else Action.REFERRAL_VIEW
        audit.read(shown, ObjectType.REFERRAL, found.id)
    return found


def load_received(user: User, referral_id: uuid.UUID, action: Action = Action.REFERRAL_VIEW) -> Referral:
    """A live referral addressed to the user's service, or 404 (audited)."""
    found: Referral | None = None
    if user.service_id is not None:
        found = db.session.execute(
            select(Referral).where(Referral.id == referral_id,
                                   Referral.service_id == user.service_id,
                                   Referral.status != "revoked")
        ).scalar_one_or_none()
    return _found(found, referral_id, action)


def load_sent(user: User, referral_id: uuid.UUID, action: Action = Action.REFERRAL_VIEW) -> Referral:
    """A referral of a case in the user's case scope, or 404 (audited)."""
    found: Referral | None = db.session.execute(
        select(Referral).join(Case, Case.id == Referral.case_id)
        .where(Referral.id == referral_id, case_scope(user))
    ).scalar_one_or_none()
    return _found(found, referral_id, action)


def inbox(user: User, include_closed: bool = False) -> list[Referral]:
    """Referrals addressed to the user's service, most urgent and oldest deadline first."""
    if user.service_id is None:
        return []
    stmt = select(Referral).where(Referral.service_id == user.service_id,
                                  Referral.status != "revoked")
    if not include_closed:
        stmt = stmt.where(Referral.status.in_(("sent", "accepted")))
    return list(db.session.execute(stmt.order_by(URGENCY_ORDER, Referral.respond_by)).scalars())


def case_referrals(case: Case) -> list[Referral]:
    """Every referral of a case, newest first."""
    return list(db.session.execute(
        select(Referral).where(Referral.case_id == case.id).order_by(Referral.sent_at.desc())
    ).scalars())


def onward_of(referral: Referral) -> list[Referral]:
    """The live referrals its service made onward from ``referral`` (its children)."""
    return list(db.session.execute(
        select(Referral).where(Referral.parent_id == referral.id,
                               Referral.status != ReferralStatus.REVOKED)
        .order_by(Referral.sent_at)).scalars())


def history(referral: Referral) -> list[ReferralEvent]:
    """A referral's steps, oldest first."""
    return list(db.session.execute(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.at, ReferralEvent.to_status)
    ).scalars())


def status_of(user: User) -> Any:
    """``Referral.status`` for a condition next to ``case_scope(user)``: for a worker's own
    cases, not an index to drive by (their cases are far fewer than the sent referrals)."""
    return not_an_index(Referral.status) if worker_scoped(user) else Referral.status


def waiting_too_long(user: User) -> list[tuple[Any, str, str, Any]]:
    """Sent referrals of the user's cases with no answer past their deadline."""
    rows = db.session.execute(
        select(Case.id, Case.case_number, Referral.service_type, Referral.respond_by)
        .join(Referral, Referral.case_id == Case.id)
        .where(case_scope(user), status_of(user) == "sent", Referral.respond_by < utcnow())
        .order_by(Referral.respond_by)
    ).all()
    return [(case_id, number, service_type, due) for case_id, number, service_type, due in rows]


def urgent_clinical(user: User) -> list[tuple[Any, str, int]]:
    """Open urgent clinical referrals of the user's cases, with the hours left in the window."""
    now = utcnow()
    rows = db.session.execute(
        select(Case.id, Case.case_number, Referral.clinical_deadline_at)
        .join(Referral, Referral.case_id == Case.id)
        .where(case_scope(user), Referral.urgent_clinical.is_(True),
               status_of(user).in_(("sent", "accepted")), Referral.clinical_deadline_at > now)
    ).all()
    return [(r[0], r[1], int((r[2] - now).total_seconds() // 3600)) for r in rows if r[2]]


def clinical_referrals(user: User, *, case_ids: list[Any] | None = None) -> dict[Any, str]:
    """Cases of the user's scope (or just ``case_ids``) whose urgent clinical referral is sent
    and still inside its window: case id → its status ("sent": awaiting an answer,
    "accepted"). One case's page uses ``clinical_among`` on the referrals it read."""
    stmt = (select(Referral.case_id, Referral.status).join(Case, Case.id == Referral.case_id)
            .where(case_scope(user), Referral.urgent_clinical.is_(True),
                   status_of(user).in_(("sent", "accepted")),
                   Referral.clinical_deadline_at > utcnow())
            .order_by(Referral.sent_at))
    if case_ids is not None:   # a few cases: found through their referrals
        stmt = stmt.where(Referral.case_id.in_(case_ids))
    return _ranked(db.session.execute(stmt).all())


def _ranked(pairs: Any) -> dict[Any, str]:
    found: dict[Any, str] = {}
    for case_id, status in pairs:
        if found.get(case_id) != "accepted":  # an accepted one outranks one still waiting
            found[case_id] = status
    return found


def clinical_among(referrals: list[Referral]) -> dict[Any, str]:
    """``clinical_referrals`` of one case from its referrals already read (the case page's):
    the same rule, without reading them again. The page is shown only to someone who may
    open the case, who sees these referrals listed on it."""
    now = utcnow()
    return _ranked((r.case_id, r.status) for r in referrals
                   if r.urgent_clinical and r.status in ("sent", "accepted")
                   and r.clinical_deadline_at is not None and r.clinical_deadline_at > now)


def active_services() -> list[Service]:
    """The services a referral can be sent to now, by name."""
    return list(db.session.execute(
        select(Service).where(Service.active.is_(True)).order_by(Service.name)).scalars())


def receives(user: User) -> bool:
    """Whether the user receives referrals: may, and works at a service."""
    return user.service_id is not None and can(user, Permission.REFERRAL_RECEIVE)


def _new(user: User) -> Any:
    """The condition for the new referrals of the user's service: sent and not answered yet
    (None for an account that receives none)."""
    if not receives(user):
        return None
    return (Referral.service_id == user.service_id) & (Referral.status == ReferralStatus.SENT)


def new_count(user: User) -> int:
    """How many referrals to the user's service wait for an answer: one indexed count (the
    number beside "Referrals received" in the navigation, ``app.ui.NavItem.count``)."""
    where = _new(user)
    if where is None:
        return 0
    return int(db.session.scalar(select(func.count()).select_from(Referral).where(where)) or 0)


def new_referrals(user: User, limit: int) -> list[Any]:
    """The first ``limit`` referrals waiting for the service's answer, urgent first, then by
    the answer's deadline: their clear columns only (id, service_type, urgency,
    urgent_clinical, sent_at, respond_by), never the sealed share."""
    where = _new(user)
    if where is None:
        return []
    return list(db.session.execute(
        select(Referral.id, Referral.service_type, Referral.urgency, Referral.urgent_clinical,
               Referral.sent_at, Referral.respond_by)
        .where(where).order_by(URGENCY_ORDER, Referral.respond_by, Referral.id).limit(limit)
    ).all())
