"""What cases put on the home page (``hooks.home_panels``): the caseworker's work of the day and
the supervisor's view of the team.

A caseworker (reads cases, assigns none) sees their own cases (``case_scope``); a supervisor
(assigns cases) sees the cases of their sites. Referrals add their own panels
(``app.referrals.home``): cases never import referrals. Panels show codes, counts, dates, case
numbers and staff names, never survivor data, and decrypt nothing
(``app.cases.home_queries``). A panel the role should see is shown even when empty, with a
short "nothing" line, so the user knows it was checked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases import home_queries as hq
from app.cases import queries, views
from app.cases.justifications import BREAK_GLASS_REASONS
from app.cases.workflow import CLOSURE_REASONS, STATUS_LABELS
from app.core import hooks
from app.core.home import Panel
from app.localtime import today, user_zone

#: Page order: what cannot wait comes first (the referrals' panels sit between these).
CLINICAL, DUE, SENT_BACK, PLANS, NO_CONTACT = 10, 20, 40, 50, 60
APPROVALS, NO_SAFETY_PLAN, CASELOAD, BREAK_GLASS = 20, 30, 40, 50


def is_supervisor(user: User) -> bool:
    """Whether the home page shows ``user`` the team (whoever assigns cases)."""
    return can(user, Permission.CASE_ASSIGN)


def is_caseworker(user: User) -> bool:
    """Whether the home page shows ``user`` their own cases (reads cases, assigns none)."""
    return can(user, Permission.CASE_READ) and not is_supervisor(user)


def clinical_windows(user: User) -> list[queries.UrgentTask]:
    """Rape incidents of the user's cases inside their 72-hour window, soonest first, each with
    its clinical referral's status (told by referrals through ``hooks.clinical_referrals``,
    asked only about those cases, when a window is open)."""
    urgent = views.urgent_tasks(user, {})
    if not urgent:
        return []
    referred: dict[Any, str] = {}
    for part in hooks.clinical_referrals.collect(user=user,
                                                 case_ids=sorted({t.case_id for t in urgent})):
        referred.update(part)
    return [replace(t, referral=referred.get(t.case_id)) for t in urgent]


def caseworker_panels(user: User) -> list[Panel]:
    day = today(user_zone(user))
    urgent = clinical_windows(user)
    quiet, quiet_items = hq.no_contact(user)
    back, back_items = hq.sent_back(user)
    return [
        Panel("clinical-windows", _l("Urgent clinical care"), "cases/home_clinical.html",
              {"urgent": urgent[:hq.HOME_LIST], "more": max(len(urgent) - hq.HOME_LIST, 0)},
              CLINICAL),
        Panel("due-work", _l("Follow-ups due and overdue"), "cases/home_due.html",
              {"work": hq.due_work(user, day), "today": day}, DUE),
        Panel("sent-back", _l("Closures sent back"), "cases/home_sent_back.html",
              {"found": back, "shown": back_items, "reasons": CLOSURE_REASONS}, SENT_BACK),
        Panel("plans-waiting", _l("Plans awaiting approval"), "cases/home_cases.html",
              {"found": hq.needing(user, hq.Need.PLAN_WAITING), "need": hq.Need.PLAN_WAITING,
               "none": _l("No plan is waiting for approval.")}, PLANS),
        Panel("no-contact", _l("No recent contact"), "cases/home_no_contact.html",
              {"found": quiet, "shown": quiet_items, "days": hq.no_contact_days()}, NO_CONTACT),
    ]


def supervisor_panels(user: User) -> list[Panel]:
    day = today(user_zone(user))
    return [
        Panel("approvals", _l("Waiting for your approval"), "cases/home_approvals.html",
              {"closures": hq.closures_waiting(user),
               "plans": hq.needing(user, hq.Need.PLAN_WAITING)}, APPROVALS),
        Panel("no-safety-plan", _l("High-risk cases without a safety plan"),
              "cases/home_cases.html",
              {"found": hq.needing(user, hq.Need.NO_SAFETY_PLAN), "need": hq.Need.NO_SAFETY_PLAN,
               "none": _l("Every high-risk case has a safety plan.")}, NO_SAFETY_PLAN),
        Panel("team-caseload", _l("Team caseload"), "cases/home_caseload.html",
              {"rows": hq.team_caseload(user, queries.workers_for(user), day),
               "statuses": hq.CASELOAD, "status_labels": STATUS_LABELS}, CASELOAD),
        Panel("break-glass", _l("Break-glass access to your cases"), "cases/home_break_glass.html",
              {"grants": hq.active_grants(user), "reasons": BREAK_GLASS_REASONS}, BREAK_GLASS),
    ]


@hooks.home_panels.subscribe
def case_panels(user: User) -> list[Panel]:
    """The case panels of ``user``'s home page (none for roles that do not work on cases)."""
    if is_supervisor(user):
        return supervisor_panels(user)
    if is_caseworker(user):
        return caseworker_panels(user)
    return []

