"""What is still open on a case when its closure is asked for and decided.

The caseworker sees the list when requesting closure and the supervisor before deciding. Cases
list their own goals not done and follow-ups not recorded as done; other features add theirs
through ``hooks.open_items`` (referrals: urgent ones unanswered, accepted ones without an
outcome), so cases never import them. The list informs the decision: it does not block it
(a survivor may ask to close with goals still open).
"""

from __future__ import annotations

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


def _goals(case: Case) -> list[OpenItem]:
    rows = db.session.execute(
        select(ActionItem.service_type, ActionItem.status, ActionItem.due_on)
        .where(ActionItem.case_id == case.id, ActionItem.status.in_(OPEN_GOAL_STATUSES))
        .order_by(ActionItem.due_on)).all()
    return [OpenItem("goal", str(_l("Goal (%(kind)s): %(status)s, due %(day)s",
                                    kind=label(kind, Domain.SERVICE_TYPE),
                                    status=label(status, Domain.ACTION_STATUS),
                                    day=format_date(due))))
            for kind, status, due in rows]


def _follow_ups(case: Case) -> list[OpenItem]:
    today = local_today(organisation_zone(case.organisation_id))
    days = db.session.execute(
        select(FollowUp.due_on).where(FollowUp.case_id == case.id, FollowUp.done_on.is_(None))
        .order_by(FollowUp.due_on)).scalars()
    return [OpenItem("follow_up", str(_l("Follow-up due %(day)s not recorded as done",
                                         day=format_date(day))), urgent=day <= today)
            if day <= today else
            OpenItem("follow_up", str(_l("Follow-up planned for %(day)s", day=format_date(day))))
            for day in days]


def open_items(case: Case) -> list[OpenItem]:
    """Everything still open on ``case``: urgent items first, then the others, each group in
    the order found (goals, follow-ups, then other features' items)."""
    found = _goals(case) + _follow_ups(case)
    for part in hooks.open_items.collect(case=case):
        found.extend(part)
    return sorted(found, key=lambda item: not item.urgent)


def sent_back(case: Case) -> tuple[StatusChange, str | None] | None:
    """The supervisor's latest sending back of a closure, with its reason (decrypted), while
    it is the answer to the latest closure request: not while a new request waits, nor once a
    later one was approved (the case closed, perhaps reopened since). The reason is None when
    it does not open (left out with the page's notice, ``app.crypto.readable``)."""
    if case.status in (CaseStatus.CLOSURE_REQUESTED, CaseStatus.CLOSED):
        return None
    step: StatusChange | None = db.session.execute(
        select(StatusChange).where(StatusChange.case_id == case.id,
                                   (StatusChange.reason == SENT_BACK)
                                   | (StatusChange.to_status == CaseStatus.CLOSED))
        .order_by(StatusChange.at.desc())).scalars().first()
    if step is None or step.reason != SENT_BACK:
        return None
    opened = readable([step], ("reason_detail",))
    return step, (opened[0][1]["reason_detail"] if opened else None)
