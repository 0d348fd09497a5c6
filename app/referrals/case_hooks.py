"""What referrals answer to other features' hooks (``app.core.hooks``: cases never import
referrals): the trail a transferred case leaves, the case and task pages' sections, what stays
open before closure, and the fields a consent to share may allow. Imported by
``connect_hooks()``; the rules themselves stay in ``service``."""

from __future__ import annotations

from typing import Any

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.cases.labels import Domain, label
from app.cases.models import Case
from app.core import hooks
from app.db import db
from app.referrals import fields, queries
from app.referrals.labels import status_label
from app.referrals.models import Referral, ReferralStatus, ReferralTrail, Urgency


@hooks.case_transferred.subscribe
def keep_trail(case: Case, tombstone: Any) -> int:
    """The case goes to another organisation: the sender keeps each referral's service, codes
    and dates, linked to the tombstone (``ReferralTrail``); the referrals themselves, their
    shares and their sealed history go with the erased case. Returns how many were kept."""
    kept = 0
    for r in db.session.execute(select(Referral).where(Referral.case_id == case.id)
                                .order_by(Referral.sent_at)).scalars():
        db.session.add(ReferralTrail(
            tombstone_id=tombstone.id, referral_id=r.id, service_id=r.service_id,
            service_type=r.service_type, urgency=r.urgency, status=r.status, sent_at=r.sent_at,
            responded_at=r.responded_at, closed_at=r.closed_at, outcome=r.outcome,
            outcome_reason=r.outcome_reason))
        kept += 1
    return kept


# --- What referrals add to the case pages (``app.core.hooks``; cases do not import referrals) ---

@hooks.case_page.subscribe
def case_page_section(case: Case, user: User) -> dict[str, Any]:
    """The case page's referral section: the case's referrals (and whether its urgent clinical
    referral is sent, ``clinical_referrals``, read by cases for the incident's message)."""
    referrals = queries.case_referrals(case)
    return {"referrals": referrals, "referral_status_label": status_label,
            "clinical_referrals": queries.clinical_among(referrals)}


@hooks.task_page.subscribe
def task_page_section(user: User) -> dict[str, Any]:
    """The task list's referrals: urgent clinical ones and those waiting too long for an answer."""
    return {"late_referrals": queries.waiting_too_long(user),
            "urgent_referrals": queries.urgent_clinical(user),
            "clinical_referrals": queries.clinical_referrals(user)}


@hooks.clinical_referrals.subscribe
def clinical_referral_status(user: User, case_ids: list[Any]) -> dict[Any, str]:
    """The status of the urgent clinical referral of each of ``case_ids`` that has one."""
    return queries.clinical_referrals(user, case_ids=case_ids)


@hooks.open_items.subscribe
def open_referrals(case: Case, page: dict[str, Any] | None = None) -> list[hooks.OpenItem]:
    """What referrals leave open on a case about to close: urgent ones still unanswered, and
    accepted ones whose outcome is not recorded yet (service type only, never the share).
    On the case page, the referrals its section read (``case_page_section``) are used."""
    items = []
    found = page.get("referrals") if page is not None else None
    for r in queries.case_referrals(case) if found is None else found:
        kind = label(r.service_type, Domain.SERVICE_TYPE)
        if r.status == ReferralStatus.SENT and r.urgency == Urgency.URGENT:
            items.append(hooks.OpenItem("urgent_referral", str(_l(
                "Urgent referral to %(kind)s not answered yet (sent %(day)s)", kind=kind,
                day=format_date(r.sent_at))), urgent=True))
        elif r.status == ReferralStatus.SENT:
            items.append(hooks.OpenItem("referral", str(_l(
                "Referral to %(kind)s not answered yet (sent %(day)s)", kind=kind,
                day=format_date(r.sent_at)))))
        elif r.status == ReferralStatus.ACCEPTED:
            items.append(hooks.OpenItem("referral", str(_l(
                "Referral to %(kind)s accepted, outcome not recorded yet", kind=kind))))
    return items


@hooks.share_fields.subscribe
def consent_share_fields() -> list[tuple[str, Any]]:
    """What a consent to share may allow beyond the minimum: the fields a referral can carry."""
    return fields.optional_choices()
