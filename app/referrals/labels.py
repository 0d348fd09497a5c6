"""Translated labels of the referral domain: statuses, urgencies, revocation reasons and the
fields a referral can share. Codes stay stable; only labels are translated."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.referrals.models import SENDER_REVOKE_REASONS, ReferralStatus, RevokeReason, Urgency

STATUS: dict[ReferralStatus, Any] = {
    ReferralStatus.SENT: _l("Sent"), ReferralStatus.ACCEPTED: _l("Accepted"),
    ReferralStatus.DECLINED: _l("Declined"), ReferralStatus.COMPLETED: _l("Completed"),
    ReferralStatus.REVOKED: _l("Revoked"),
}
URGENCY: dict[Urgency, Any] = {
    Urgency.NORMAL: _l("Normal"), Urgency.HIGH: _l("High"), Urgency.URGENT: _l("Urgent"),
}
REVOKE_REASON: dict[RevokeReason, Any] = {
    RevokeReason.NO_LONGER_NEEDED: _l("No longer needed"),
    RevokeReason.SENT_IN_ERROR: _l("Sent in error"),
    RevokeReason.SURVIVOR_REQUEST: _l("The survivor asked"),
    RevokeReason.SAFETY: _l("Safety concern"),
}  # the sender's choices; the automatic reasons are never offered
FIELDS: dict[str, Any] = {
    "case_number": _l("Case number"), "age_group": _l("Age group"), "sex": _l("Sex"),
    "service_requested": _l("Service requested"), "full_name": _l("Full name"),
    "alias": _l("Alias"), "date_of_birth": _l("Date of birth"), "phone": _l("Phone"),
    "safe_contact": _l("Safe contact instructions"), "location": _l("Address or location"),
    "displacement_status": _l("Displacement status"), "disability": _l("Disability"),
    "risk_level": _l("Risk level"), "incident_summary": _l("Incident type and date"),
}

#: (code, label) choices of the form fields, in the order they are offered.
URGENCY_CHOICES = [(u.value, URGENCY[u]) for u in (Urgency.NORMAL, Urgency.HIGH, Urgency.URGENT)]
REVOKE_CHOICES = [(r.value, REVOKE_REASON[r]) for r in SENDER_REVOKE_REASONS]


def _of(table: dict[Any, Any], code: str | None) -> str:
    return str(table.get(code, code or ""))


def status_label(code: str | None) -> str:
    """A referral status, translated (the code itself when unknown)."""
    return _of(STATUS, code)


def urgency_label(code: str | None) -> str:
    """An urgency, translated."""
    return _of(URGENCY, code)


def field_label(code: str) -> str:
    """A shareable field, translated."""
    return _of(FIELDS, code)
