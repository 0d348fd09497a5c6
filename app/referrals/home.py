"""What referrals put on the caseworker's and the supervisor's home pages (``hooks.home_panels``).

Referral data, so it lives here, not in cases (cases never import referrals): the caseworker's
referrals past their answer deadline, the supervisor's urgent referrals still unanswered. Both
are scoped by the case scope (``app.cases.scopes.case_scope``), counted in SQL and shown as
case numbers, service types and deadlines, never the shared fields or the message. The
service provider's panel is ``app.referrals.provider_home``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.auth.models import User
from app.cases import home_queries as hq
from app.cases.home import is_caseworker, is_supervisor
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.clock import utcnow
from app.core import hooks
from app.core.home import Panel
from app.referrals.models import Referral, ReferralStatus, Urgency
from app.referrals.queries import status_of

#: Page order, between the clinical windows (10) and the plans (``app.cases.home``).
LATE, URGENT = 30, 15


def late_referrals(user: User) -> hq.Listed:
    """Referrals of the user's cases still waiting for an answer past their deadline, the
    longest overdue first: (case id, case number, service type, answer deadline)."""
    return hq.listed(
        select(Case.id, Case.case_number, Referral.service_type, Referral.respond_by)
        .join(Referral, Referral.case_id == Case.id)
        .where(case_scope(user), status_of(user) == ReferralStatus.SENT,
               Referral.respond_by < utcnow()),
        Referral.respond_by, Case.case_number)


def urgent_unanswered(user: User) -> hq.Listed:
    """Urgent referrals (urgency "urgent", or urgent clinical care) of the user's cases still
    waiting for an answer, soonest deadline first: (case id, case number, service type,
    answer deadline, urgent clinical)."""
    return hq.listed(
        select(Case.id, Case.case_number, Referral.service_type, Referral.respond_by,
               Referral.urgent_clinical)
        .join(Referral, Referral.case_id == Case.id)
        .where(case_scope(user), status_of(user) == ReferralStatus.SENT,
               or_(Referral.urgency == Urgency.URGENT, Referral.urgent_clinical.is_(True))),
        Referral.respond_by, Case.case_number)


@hooks.home_panels.subscribe
def referral_panels(user: User) -> list[Panel]:
    """The referral panels of a caseworker's or supervisor's home page (none for others)."""
    now: Any = utcnow()
    if is_supervisor(user):
        return [Panel("urgent-referrals", _l("Urgent referrals not answered"),
                      "referrals/home_urgent.html", {"found": urgent_unanswered(user), "now": now},
                      URGENT)]
    if is_caseworker(user):
        return [Panel("late-referrals", _l("Referrals past their answer deadline"),
                      "referrals/home_late.html", {"found": late_referrals(user)}, LATE)]
    return []
