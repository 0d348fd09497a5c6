"""Counts and short lists for the caseworker's and the supervisor's home pages (``app.cases.home``).

Every read here is SQL over clear, indexed columns, scoped by ``case_scope``: counts by
``COUNT``/``GROUP BY``, lists by ``LIMIT``. Nothing is decrypted (a sealed column is only ever
tested for ``NULL``, never opened), so a home page shows codes, counts, dates and case numbers.

The conditions that pick "cases that need attention" (``Need``) are also the case list's
``need`` filter, so a count on the home page and the list it links to always agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, select
from sqlalchemy import case as sql_case

from app.auth.models import User
from app.cases.models import (
    ActionItem,
    Assessment,
    BreakGlassGrant,
    Case,
    ConsentRecord,
    FollowUp,
    Incident,
    StatusChange,
)
from app.cases.scopes import case_scope
from app.cases.service import SENT_BACK
from app.cases.workflow import CaseStatus
from app.clock import utcnow
from app.db import db
from app.localtime import from_local, today, user_zone
from app.sqlhints import not_an_index

#: How many items a home-page list shows before "and N more" (linking to the full list).
HOME_LIST = 10
#: Goals of the action plan still to do.
OPEN_GOALS = ("planned", "in_progress")
#: Statuses of a case still being worked (a requested closure waits for the supervisor).
WORKED = (CaseStatus.OPEN, CaseStatus.ASSESSMENT, CaseStatus.ACTION_PLAN,
          CaseStatus.IMPLEMENTATION, CaseStatus.FOLLOW_UP)
#: The statuses of a caseload (every status but closed), in workflow order.
CASELOAD = (*WORKED, CaseStatus.CLOSURE_REQUESTED)


class Need(StrEnum):
    """Cases that need attention: the case list's ``need`` filter and the home page's counts."""

    NO_CONTACT = "no_contact"
    PLAN_WAITING = "plan_waiting"
    SENT_BACK = "sent_back"
    NO_SAFETY_PLAN = "no_safety_plan"


NEED_LABELS: dict[str, Any] = {
    Need.NO_CONTACT: _l("No recent contact"),
    Need.PLAN_WAITING: _l("Plan awaiting approval"),
    Need.SENT_BACK: _l("Closure sent back"),
    Need.NO_SAFETY_PLAN: _l("High risk, no safety plan"),
}


def need_choices() -> list[tuple[str, Any]]:
    """The case list's ``need`` filter choices (the no-contact one names the days)."""
    days = no_contact_days()
    return [(code, ngettext("No contact for %(num)d day", "No contact for %(num)d days", days)
             if code == Need.NO_CONTACT else text) for code, text in NEED_LABELS.items()]


def no_contact_days() -> int:
    """After how many days without contact a case is listed (``AMANA_NO_CONTACT_DAYS``)."""
    return int(current_app.config["NO_CONTACT_DAYS"])


def quiet_since(user: User) -> date:
    """The last day that still counts as "no contact for N days": today (the user's zone)
    minus N days. A case whose last contact is on or before it is listed."""
    return today(user_zone(user)) - timedelta(days=no_contact_days())


def _no_contact(user: User) -> ColumnElement[bool]:
    """Cases still worked whose last contact with the survivor was ``no_contact_days`` or more
    days ago (the user's today). Contact is what only happens with the survivor (or caregiver)
    present and is recorded as such: the case opened (intake), a follow-up recorded as done, an
    incident reported, a consent given or withdrawn. Notes, edits and reassignments are not
    contact: a note may say "called, no answer", and an edit needs no survivor."""
    since = quiet_since(user)
    after = from_local(datetime.combine(since + timedelta(days=1), datetime.min.time()),
                       user_zone(user))
    return and_(
        Case.status.in_(WORKED), Case.opened_on <= since,
        ~exists().where(FollowUp.case_id == Case.id, FollowUp.done_on > since),
        ~exists().where(Incident.case_id == Case.id, Incident.reported_date > since),
        ~exists().where(ConsentRecord.case_id == Case.id, ConsentRecord.recorded_at >= after))


def _plan_waiting() -> ColumnElement[bool]:
    """Cases with an action plan (at least one goal) that no supervisor has approved yet. The
    plan has no "submitted" step: goals recorded are the plan the supervisor approves."""
    return and_(Case.status.in_(CASELOAD), Case.plan_approved_at.is_(None),
                exists().where(ActionItem.case_id == Case.id))


def _sent_back() -> ColumnElement[bool]:
    """Cases whose latest closure request was sent back (no new request waiting, none approved
    since): as ``app.cases.closure.sent_back`` says, without opening the reason."""
    back = StatusChange.__table__.alias("back")
    closed_since = exists().where(StatusChange.case_id == back.c.case_id,
                                  StatusChange.to_status == CaseStatus.CLOSED,
                                  StatusChange.at > back.c.at)
    return and_(Case.status.in_(WORKED), exists().where(
        back.c.case_id == Case.id, back.c.reason == SENT_BACK, ~closed_since))


def _no_safety_plan() -> ColumnElement[bool]:
    """High-risk cases still open with no safety plan: no assessment, or one whose sealed
    ``safety_plan`` is empty (an empty field is stored as NULL; tested, never opened)."""
    return and_(Case.status.in_(CASELOAD), Case.risk_level == "high",
                ~exists().where(Assessment.case_id == Case.id,
                                Assessment.__table__.c.safety_plan_sealed.is_not(None)))


def need_condition(need: str, user: User) -> ColumnElement[bool]:
    """The SQL condition of ``need`` (a ``Need`` code) for ``user``'s list (matching nothing
    for any other value)."""
    if need == Need.NO_CONTACT:
        return _no_contact(user)
    if need == Need.PLAN_WAITING:
        return _plan_waiting()
    if need == Need.SENT_BACK:
        return _sent_back()
    if need == Need.NO_SAFETY_PLAN:
        return _no_safety_plan()
    return false()  # no such need (the filter form refuses it; blank-looking input gets here)


# --- Short lists: a count and the first few ------------------------------------------------------

@dataclass(frozen=True)
class Listed:
    """A count and its first ``HOME_LIST`` rows."""

    total: int
    rows: list[Any]

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


def listed(stmt: Select[*tuple[Any, ...]], *order: Any) -> Listed:
    """Count ``stmt``'s rows and fetch its first ``HOME_LIST`` in ``order``.

    On SQLite one query: every row carries the count as ``count(*) OVER ()`` (SQLite reads the
    matching rows once and sorts them). On PostgreSQL two: with the window it would read a
    whole index in ``order`` to feed it (it plans the limit as if it cut the scan short),
    while the plain count and the limited list each take the best plan."""
    if db.session.get_bind().dialect.name == "sqlite":
        found = db.session.execute(stmt.add_columns(func.count().over().label("listed_total"))
                                   .order_by(*order).limit(HOME_LIST)).all()
        return Listed(int(found[0][-1]) if found else 0, [tuple(r)[:-1] for r in found])
    total = int(db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())
    rows = list(db.session.execute(stmt.order_by(*order).limit(HOME_LIST)).all()) if total else []
    return Listed(total, rows)


def needing(user: User, need: str) -> Listed:
    """Cases of the user's scope that ``need`` attention: (id, number, opened_on), oldest first."""
    return listed(select(Case.id, Case.case_number, Case.opened_on)
                   .where(case_scope(user), need_condition(need, user)),
                   Case.opened_on, Case.case_number)


@dataclass(frozen=True)
class QuietCase:
    """A case with no contact for N days: when the last contact was (a day)."""

    case_id: Any
    case_number: str
    last_contact: date


def no_contact(user: User) -> tuple[Listed, list[QuietCase]]:
    """The user's cases with no contact for ``no_contact_days``, oldest opened first, and the
    day of the last contact of those shown (the latest of the days ``_no_contact`` counts)."""
    found = needing(user, Need.NO_CONTACT)
    ids = [r[0] for r in found.rows]
    last: dict[Any, date] = {r[0]: r[2] for r in found.rows}
    if ids:
        days = (select(FollowUp.case_id, func.max(FollowUp.done_on))
                .where(FollowUp.case_id.in_(ids)).group_by(FollowUp.case_id)
                .union_all(select(Incident.case_id, func.max(Incident.reported_date))
                           .where(Incident.case_id.in_(ids)).group_by(Incident.case_id)))
        for case_id, day in db.session.execute(days).all():
            if day is not None and day > last[case_id]:
                last[case_id] = day
        zone = user_zone(user)
        for case_id, at in db.session.execute(
                select(ConsentRecord.case_id, func.max(ConsentRecord.recorded_at))
                .where(ConsentRecord.case_id.in_(ids)).group_by(ConsentRecord.case_id)).all():
            if at is not None:
                day = at.astimezone(zone).date() if at.tzinfo else at.date()
                last[case_id] = max(last[case_id], day)
    return found, [QuietCase(r[0], r[1], last[r[0]]) for r in found.rows]


@dataclass(frozen=True)
class SentBack:
    """A closure sent back: when, and the reason code of the request it answered."""

    case_id: Any
    case_number: str
    at: datetime
    request_reason: str | None


def sent_back(user: User) -> tuple[Listed, list[SentBack]]:
    """The user's cases whose closure was sent back, latest first, with the reason code of the
    closure request (the supervisor's explanation is sealed and shown on the case page only)."""
    when = (select(func.max(StatusChange.at))
            .where(StatusChange.case_id == Case.id, StatusChange.reason == SENT_BACK)
            .correlate(Case).scalar_subquery())
    asked = (select(StatusChange.reason)
             .where(StatusChange.case_id == Case.id,
                    StatusChange.to_status == CaseStatus.CLOSURE_REQUESTED)
             .order_by(StatusChange.at.desc()).limit(1).correlate(Case).scalar_subquery())
    found = listed(select(Case.id, Case.case_number, when.label("at"), asked.label("why"))
                    .where(case_scope(user), _sent_back()), when.desc(), Case.case_number)
    return found, [SentBack(*r) for r in found.rows]


@dataclass(frozen=True)
class Due:
    """A follow-up or goal due today or overdue."""

    case_id: Any
    case_number: str
    kind: str  # "follow_up" | "action_item"
    due_on: date


@dataclass(frozen=True)
class DueWork:
    """Follow-ups due today, follow-ups and goals overdue: the counts and the first few items,
    oldest due first."""

    follow_ups_today: int
    follow_ups_overdue: int
    goals_overdue: int
    items: list[Due]

    @property
    def total(self) -> int:
        return self.follow_ups_today + self.follow_ups_overdue + self.goals_overdue

    @property
    def more(self) -> int:
        return max(self.total - len(self.items), 0)


def due_work(user: User, day: date) -> DueWork:
    """Follow-ups not done and due on or before ``day`` (the user's today), and goals of the
    plan still to do whose date has passed, in open cases of the user's scope."""
    open_case = and_(case_scope(user), Case.status != CaseStatus.CLOSED)
    visit = and_(open_case, FollowUp.done_on.is_(None), FollowUp.due_on <= day)
    goal = and_(open_case, ActionItem.due_on < day, ActionItem.status.in_(OPEN_GOALS))
    today_n, late_n = db.session.execute(
        select(func.count(sql_case((FollowUp.due_on == day, 1))),
               func.count(sql_case((FollowUp.due_on < day, 1))))
        .select_from(FollowUp).join(Case, Case.id == FollowUp.case_id).where(visit)).one()
    goals_n = int(db.session.execute(
        select(func.count()).select_from(ActionItem).join(Case, Case.id == ActionItem.case_id)
        .where(goal)).scalar_one())
    items: list[Due] = []
    if today_n or late_n:
        items += [Due(r[0], r[1], "follow_up", r[2]) for r in db.session.execute(
            select(Case.id, Case.case_number, FollowUp.due_on)
            .join(FollowUp, FollowUp.case_id == Case.id).where(visit)
            .order_by(FollowUp.due_on, Case.case_number).limit(HOME_LIST)).all()]
    if goals_n:
        items += [Due(r[0], r[1], "action_item", r[2]) for r in db.session.execute(
            select(Case.id, Case.case_number, ActionItem.due_on)
            .join(ActionItem, ActionItem.case_id == Case.id).where(goal)
            .order_by(ActionItem.due_on, Case.case_number).limit(HOME_LIST)).all()]
    items.sort(key=lambda d: (d.due_on, d.case_number, d.kind))
    return DueWork(int(today_n or 0), int(late_n or 0), goals_n, items[:HOME_LIST])


# --- The supervisor's team -----------------------------------------------------------------------

@dataclass
class WorkerLoad:
    """One caseworker's open caseload (primary assignments): counts by status, high-risk ones,
    overdue follow-ups and goals. ``worker_id`` None: cases left without a caseworker."""

    worker_id: uuid.UUID | None
    name: str | None
    by_status: dict[str, int]
    high_risk: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def team_caseload(user: User, workers: list[User], day: date) -> list[WorkerLoad]:
    """The caseload of the supervisor's scope by primary caseworker: one row per active
    caseworker of the supervisor's sites (``workers``, even with nothing), one per other worker
    still holding cases there, and one for cases without a caseworker; by display name."""
    rows: dict[uuid.UUID | None, WorkerLoad] = {
        w.id: WorkerLoad(w.id, w.display_name, dict.fromkeys(CASELOAD, 0)) for w in workers}
    # One pass over the open cases of the sites, joined to the overdue follow-ups and goals
    # counted per case (each read through its partial index of what is still to do: few rows,
    # however many cases are closed), then added up per worker and status.
    # (grouped by a case id that is not an index: SQLite would otherwise walk every row in
    # case order instead of the few still to do)
    late_visits = (select(FollowUp.case_id.label("case_id"), func.count().label("n"))
                   .where(FollowUp.done_on.is_(None), FollowUp.due_on < day)
                   .group_by(not_an_index(FollowUp.case_id)).subquery())
    late_goals = (select(ActionItem.case_id.label("case_id"), func.count().label("n"))
                  # the statuses as literals, so SQLite sees the partial index applies
                  .where(ActionItem.status.in_([literal(s, literal_execute=True)
                                                for s in OPEN_GOALS]), ActionItem.due_on < day)
                  .group_by(not_an_index(ActionItem.case_id)).subquery())
    late = func.coalesce(late_visits.c.n, 0) + func.coalesce(late_goals.c.n, 0)
    counted = db.session.execute(
        select(Case.primary_worker_id, User.display_name, Case.status, func.count(),
               func.count(sql_case((Case.risk_level == "high", 1))), func.sum(late))
        .outerjoin(User, User.id == Case.primary_worker_id)
        .outerjoin(late_visits, late_visits.c.case_id == Case.id)
        .outerjoin(late_goals, late_goals.c.case_id == Case.id)
        .where(case_scope(user), Case.status.in_(CASELOAD))
        .group_by(Case.primary_worker_id, User.display_name, Case.status)).all()
    for worker_id, name, status, n, high, late in counted:
        row = rows.setdefault(worker_id, WorkerLoad(worker_id, name, dict.fromkeys(CASELOAD, 0)))
        row.by_status[status] = int(n)
        row.high_risk += int(high)
        row.overdue += int(late or 0)
    return sorted(rows.values(), key=lambda r: (r.worker_id is None, (r.name or "").casefold()))


def closures_waiting(user: User) -> Listed:
    """Cases of the supervisor's scope waiting for a closure decision, oldest request first."""
    return listed(select(Case.id, Case.case_number)
                   .where(case_scope(user), Case.status == CaseStatus.CLOSURE_REQUESTED),
                   Case.updated_at, Case.case_number)


@dataclass(frozen=True)
class GrantShown:
    """An unexpired break-glass grant on a case of the supervisor's scope (who holds it is
    staff: their display name is shown)."""

    case_id: Any
    case_number: str
    holder: str
    reason_code: str
    expires_at: datetime


def active_grants(user: User) -> list[GrantShown]:
    """Unexpired break-glass grants on cases of the user's scope, soonest to expire first
    (grants last an hour by default, so there are few)."""
    return [GrantShown(*r) for r in db.session.execute(
        select(Case.id, Case.case_number, User.display_name, BreakGlassGrant.reason_code,
               BreakGlassGrant.expires_at)
        .join(BreakGlassGrant, BreakGlassGrant.case_id == Case.id)
        .join(User, User.id == BreakGlassGrant.supervisor_id)
        # driven by the few unexpired grants, not by every case of the sites
        .where(case_scope(user, drive=False), BreakGlassGrant.expires_at > utcnow())
        .order_by(BreakGlassGrant.expires_at, Case.case_number).limit(HOME_LIST * 5)).all()]

