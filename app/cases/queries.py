"""Reads of the case area that decrypt nothing: lists, filters, task lists.

Lists show case number, status, risk, site, assigned worker and dates, never names; they run on
clear, indexed columns, so a page of tens of thousands of cases costs one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.policy import Permission, roles_with
from app.cases.models import ActionItem, Case, FollowUp, Incident
from app.cases.scopes import case_scope
from app.cases.workflow import CaseStatus
from app.db import db
from app.directory.models import Organisation

PAGE_SIZE = 50
RISK_ORDER = sql_case({"high": 0, "medium": 1, "low": 2}, value=Case.risk_level, else_=3)
# Each sort as its keys, (expression, descending), ending with the id so the order is total:
# a page starts just past the last row of the one before (keyset paging), at the same cost at
# any depth of the list, where an offset reads and drops every row before the page.
SORTS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "-opened": ((Case.opened_on, True), (Case.case_number, True), (Case.id, True)),
    "opened": ((Case.opened_on, False), (Case.case_number, False), (Case.id, False)),
    "-updated": ((Case.updated_at, True), (Case.case_number, False), (Case.id, False)),
    "risk": ((RISK_ORDER, False), (Case.opened_on, True), (Case.id, False)),
    "number": ((Case.case_number, False), (Case.id, False)),
}


@dataclass
class CaseRow:
    """One line of a case list (no survivor data)."""

    id: Any
    case_number: str
    status: str
    risk_level: str
    site: str
    worker: str | None
    opened_on: date
    updated_at: Any


@dataclass
class CasePage:
    """A page of a case list, the total that match, and where the pages around it start:
    ``previous`` (``?before=<id>``) and ``next`` (``?after=<id>``), None at either end."""

    rows: list[CaseRow]
    total: int
    previous: Any = None
    next: Any = None


def _past(keys: tuple[tuple[Any, bool], ...], values: Any, forward: bool) -> Any:
    """Rows strictly after (``forward``) or before the row whose sort keys are ``values``."""
    ways = []
    for i, (expr, descending) in enumerate(keys):
        step = expr < values[i] if descending == forward else expr > values[i]
        ways.append(and_(*(k == v for (k, _d), v in zip(keys[:i], values[:i], strict=True)),
                         step))
    return or_(*ways)


def _ordered(keys: tuple[tuple[Any, bool], ...], forward: bool = True) -> list[Any]:
    return [expr.desc() if descending == forward else expr.asc() for expr, descending in keys]


def case_page(user: User, *, status: str | None = None, risk: str | None = None,
              site_id: Any = None, need: str | None = None, sort: str = "-opened",
              page: int = 1, after: Any = None, before: Any = None) -> CasePage:
    """One page of the user's cases and the total that match the filters (``need``: a
    ``home_queries.Need`` code, the cases a home-page count links to).

    ``after``/``before``: the id of the row the page follows or precedes (the pager's links);
    one that is not in the filtered list (outside the scope, another filter, gone) gives the
    first page, so an anchor never tells anything of a case the user cannot list. Without one,
    ``page`` counts pages from the start (an older link; an offset)."""
    from app.cases.home_queries import need_condition
    from app.directory.models import Site

    worker = aliased(User)
    stmt = (select(Case.id, Case.case_number, Case.status, Case.risk_level, Site.name,
                   worker.display_name, Case.opened_on, Case.updated_at)
            .join(Site, Site.id == Case.site_id)
            .outerjoin(worker, worker.id == Case.primary_worker_id)
            .where(case_scope(user)))
    if status:
        stmt = stmt.where(Case.status == status)
    if risk:
        stmt = stmt.where(Case.risk_level == risk)
    if site_id:
        stmt = stmt.where(Case.site_id == site_id)
    if need:
        stmt = stmt.where(need_condition(need, user))
    total = int(db.session.execute(
        select(func.count()).select_from(stmt.with_only_columns(Case.id).subquery())
    ).scalar_one())
    keys = SORTS.get(sort, SORTS["-opened"])
    anchor, forward = (after, True) if after is not None else (before, False)
    values = None
    if anchor is not None:
        values = db.session.execute(
            stmt.with_only_columns(*(expr for expr, _d in keys)).where(Case.id == anchor)
        ).first()
    if values is not None:
        rows = db.session.execute(stmt.where(_past(keys, values, forward))
                                  .order_by(*_ordered(keys, forward)).limit(PAGE_SIZE + 1)).all()
        found = [CaseRow(*r) for r in rows[:PAGE_SIZE]]
        more = len(rows) > PAGE_SIZE
        if forward:
            more_before, more_after = True, more
        elif more:
            found.reverse()
            more_before, more_after = True, True
        else:  # back at the start: the first page, whole
            values, page = None, 1
    if values is None:
        rows = db.session.execute(stmt.order_by(*_ordered(keys)).limit(PAGE_SIZE + 1)
                                  .offset((max(page, 1) - 1) * PAGE_SIZE)).all()
        found = [CaseRow(*r) for r in rows[:PAGE_SIZE]]
        more_before, more_after = page > 1 and bool(found), len(rows) > PAGE_SIZE
    return CasePage(found, total, found[0].id if found and more_before else None,
                    found[-1].id if found and more_after else None)


@dataclass
class Task:
    """An item on a task list."""

    case_id: Any
    case_number: str
    kind: str
    due_on: date | None
    hours_left: float | None = None


def overdue_tasks(user: User, today: date) -> list[Task]:
    """Overdue action-plan goals and follow-ups in the user's scope, oldest first."""
    open_cases = (Case.status != CaseStatus.CLOSED)
    items = db.session.execute(
        select(Case.id, Case.case_number, ActionItem.due_on)
        .join(ActionItem, ActionItem.case_id == Case.id)
        .where(case_scope(user), open_cases, ActionItem.due_on < today,
               ActionItem.status.in_(("planned", "in_progress")))
    ).all()
    visits = db.session.execute(
        select(Case.id, Case.case_number, FollowUp.due_on)
        .join(FollowUp, FollowUp.case_id == Case.id)
        .where(case_scope(user), open_cases, FollowUp.due_on < today, FollowUp.done_on.is_(None))
    ).all()
    tasks = [Task(r[0], r[1], "action_item", r[2]) for r in items]
    tasks += [Task(r[0], r[1], "follow_up", r[2]) for r in visits]
    return sorted(tasks, key=lambda t: (t.due_on or today, t.case_number))


@dataclass(frozen=True)
class UrgentIncident:
    """A rape incident flagged for urgent clinical care, with what its window is counted from:
    the date, the time and part of the day, and the organisation's time zone (None: default)."""

    case_id: Any
    case_number: str
    incident_date: date
    incident_time: time | None
    time_of_day: str | None
    time_zone: str | None


@dataclass(frozen=True)
class UrgentTask:
    """An urgent clinical incident on the task list: when its window closes (UTC), the hours
    left, the zone it is shown in, and whether the clinical referral was sent (``referral``:
    None, or the referral's status, "sent" or "accepted")."""

    case_id: Any
    case_number: str
    ends_at: datetime
    hours_left: int
    referral: str | None = None


def urgent_incidents(user: User, since: date | None = None) -> list[UrgentIncident]:
    """Incidents flagged for urgent clinical care in open cases of the user's scope (``since``:
    only those on or after that day, a bound well before any window still open)."""
    stmt = (select(Case.id, Case.case_number, Incident.incident_date, Incident.incident_time,
                   Incident.time_of_day, Organisation.time_zone)
            .join(Incident, Incident.case_id == Case.id)
            .join(Organisation, Organisation.id == Case.organisation_id)
            .where(case_scope(user), Case.status != CaseStatus.CLOSED,
                   Incident.urgent_clinical.is_(True)))
    if since is not None:
        stmt = stmt.where(Incident.incident_date >= since)
    return [UrgentIncident(*row) for row in db.session.execute(stmt).all()]


def workers_for(user: User) -> list[User]:
    """Active caseworkers a supervisor may assign (same organisation, sharing a site)."""
    site_ids = [s.id for s in user.sites]
    from app.auth.models import user_sites

    return list(db.session.execute(
        select(User).join(user_sites, user_sites.c.user_id == User.id)
        .where(User.organisation_id == user.organisation_id, User.active.is_(True),
               User.approval_pending.is_(False),
               User.role.in_(roles_with(Permission.CASE_EDIT)),
               user_sites.c.site_id.in_(site_ids))
        .distinct().order_by(User.display_name)
    ).scalars())


def unassigned_cases(user: User) -> list[tuple[Any, str]]:
    """Open cases of the user's scope left without a caseworker (after a move), oldest first."""
    return [(r[0], r[1]) for r in db.session.execute(
        select(Case.id, Case.case_number).where(case_scope(user), Case.primary_worker_id.is_(None),
                                                Case.status != CaseStatus.CLOSED)
        .order_by(Case.opened_on)
    ).all()]


def closure_requests(user: User) -> list[tuple[Any, str]]:
    """Cases of the supervisor's scope waiting for a closure decision."""
    return [(r[0], r[1]) for r in db.session.execute(
        select(Case.id, Case.case_number).where(case_scope(user), Case.status == CaseStatus.CLOSURE_REQUESTED)
        .order_by(Case.updated_at)
    ).all()]
