"""What is still open on a case when its closure is asked for and decided.

The caseworker sees the list when requesting closure and the supervisor before deciding. Cases
list their own goals not done and follow-ups not recorded as done; other features add theirs
through ``hooks.open_items`` (referrals: urgent ones unanswered, accepted ones without an
outcome), so cases never import them. The list informs the decision: it does not block it
(a survivor may ask to close with goals still open).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.labels import Domain, label
from app.cases.models import ActionItem, Case, FollowUp, StatusChange
from app.cases.service import SENT_BACK
from app.cases.workflow import CaseStatus
from app.core import hooks
from app.core.hooks import OpenItem
from app.crypto.readable import readable
from app.db import db
from app.localtime import organisation_zone
from app.localtime import today as local_today

#: Goals of the action plan not done yet.
OPEN_GOAL_STATUSES = ("planned", "in_progress")


def _goals(case: Case, loaded: list[ActionItem] | None) -> list[OpenItem]:
    rows: list[tuple[str, str, date]]
    if loaded is None:
        rows = [(k, s, d) for k, s, d in db.session.execute(
            select(ActionItem.service_type, ActionItem.status, ActionItem.due_on)
            .where(ActionItem.case_id == case.id, ActionItem.status.in_(OPEN_GOAL_STATUSES))
            .order_by(ActionItem.due_on))]
    else:  # the page's goals, read by due date: the same rows, without reading them again
        rows = [(i.service_type, i.status, i.due_on) for i in loaded
                if i.status in OPEN_GOAL_STATUSES]
    return [OpenItem("goal", str(_l("Goal (%(kind)s): %(status)s, due %(day)s",
                                    kind=label(kind, Domain.SERVICE_TYPE),
                                    status=label(status, Domain.ACTION_STATUS),
                                    day=format_date(due))))
            for kind, status, due in rows]


def _follow_ups(case: Case, loaded: list[FollowUp] | None) -> list[OpenItem]:
    today = local_today(organisation_zone(case.organisation_id))
    days = db.session.execute(
        select(FollowUp.due_on).where(FollowUp.case_id == case.id, FollowUp.done_on.is_(None))
        .order_by(FollowUp.due_on)).scalars() if loaded is None else [
        v.due_on for v in loaded if v.done_on is None]  # the page's, read by due date
    return [OpenItem("follow_up", str(_l("Follow-up due %(day)s not recorded as done",
                                         day=format_date(day))), urgent=day <= today)
            if day <= today else
            OpenItem("follow_up", str(_l("Follow-up planned for %(day)s", day=format_date(day))))
            for day in days]


def open_items(case: Case, goals: list[ActionItem] | None = None,
               follow_ups: list[FollowUp] | None = None,
               page: dict[str, Any] | None = None) -> list[OpenItem]:
    """Everything still open on ``case``: urgent items first, then the others, each group in
    the order found (goals, follow-ups, then other features' items).

    The case page passes what it has already read in this request, so nothing is read twice:
    all the case's ``goals`` ordered by due date, all its ``follow_ups`` ordered by due date
    (damaged ones included: these columns are clear), and ``page``, the other features'
    sections of the page (``hooks.case_page``), which their ``open_items`` may use."""
    found = _goals(case, goals) + _follow_ups(case, follow_ups)
    for part in hooks.open_items.collect(case=case, page=page):
        found.extend(part)
    return sorted(found, key=lambda item: not item.urgent)


def sent_back(case: Case, history: list[StatusChange] | None = None
              ) -> tuple[StatusChange, str | None] | None:
    """The supervisor's latest sending back of a closure, with its reason (decrypted), while
    it is the answer to the latest closure request: not while a new request waits, nor once a
    later one was approved (the case closed, perhaps reopened since). The reason is None when
    it does not open (left out with the page's notice, ``app.crypto.readable``). ``history``:
    the case's status changes, newest first, when the caller has read them already."""
    if case.status in (CaseStatus.CLOSURE_REQUESTED, CaseStatus.CLOSED):
        return None
    step: StatusChange | None
    if history is None:
        step = db.session.execute(
            select(StatusChange).where(StatusChange.case_id == case.id,
                                       (StatusChange.reason == SENT_BACK)
                                       | (StatusChange.to_status == CaseStatus.CLOSED))
            .order_by(StatusChange.at.desc())).scalars().first()
    else:
        step = next((h for h in history
                     if h.reason == SENT_BACK or h.to_status == CaseStatus.CLOSED), None)
    if step is None or step.reason != SENT_BACK:
        return None
    opened = readable([step], ("reason_detail",))
    return step, (opened[0][1]["reason_detail"] if opened else None)
