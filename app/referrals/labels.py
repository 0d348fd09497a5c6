"""Translated labels of the referral domain: statuses, urgencies, revocation reasons and the
fields a referral can share. Codes stay stable; only labels are translated."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.referrals.models import (
    SENDER_REVOKE_REASONS,
    NotProvidedReason,
    ReferralStatus,
    RevokeReason,
    ServiceOutcome,
    Urgency,
)

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
OUTCOME: dict[ServiceOutcome, Any] = {
    ServiceOutcome.PROVIDED: _l("Service provided"),
    ServiceOutcome.PARTIALLY_PROVIDED: _l("Service partially provided"),
    ServiceOutcome.NOT_PROVIDED: _l("Service not provided"),
}
NOT_PROVIDED_REASON: dict[NotProvidedReason, Any] = {
    NotProvidedReason.SURVIVOR_DECLINED: _l("The survivor declined the service"),
    NotProvidedReason.DID_NOT_ATTEND: _l("The survivor did not come or could not be reached"),
    NotProvidedReason.NOT_AVAILABLE: _l("The service was not available"),
    NotProvidedReason.NOT_ELIGIBLE: _l("The survivor was not eligible"),
    NotProvidedReason.REFERRED_ELSEWHERE: _l("Referred on to another service"),
    NotProvidedReason.OTHER: _l("Other reason"),
}
FIELDS: dict[str, Any] = {
    "case_number": _l("Case number"), "age_group": _l("Age group"), "sex": _l("Sex"),
    "service_requested": _l("Service requested"), "full_name": _l("Full name"),
    "alias": _l("Alias"), "date_of_birth": _l("Date of birth"), "phone": _l("Phone"),
    "safe_contact": _l("Safe contact instructions"), "location": _l("Address or location"),
    "displacement_status": _l("Displacement status"), "disability": _l("Disability"),
    "risk_level": _l("Risk level"), "incident_summary": _l("Incident type and date"),
    "attachments": _l("Attached files (chosen one by one)"),
}

#: (code, label) choices of the form fields, in the order they are offered.
URGENCY_CHOICES = [(u.value, URGENCY[u]) for u in (Urgency.NORMAL, Urgency.HIGH, Urgency.URGENT)]
OUTCOME_CHOICES = [(o.value, OUTCOME[o]) for o in ServiceOutcome]
NOT_PROVIDED_CHOICES = [(r.value, NOT_PROVIDED_REASON[r]) for r in NotProvidedReason]
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


def outcome_label(code: str | None) -> str:
    """A referral's outcome, translated."""
    return _of(OUTCOME, code)


def not_provided_label(code: str | None) -> str:
    """Why a service was not (fully) provided, translated."""
    return _of(NOT_PROVIDED_REASON, code)


def step_reason_label(code: str | None) -> str:
    """The reason code of a history step, translated: an outcome (completed) or a sender's
    revocation reason; empty for anything else (the system's own codes)."""
    if code in {o.value for o in OUTCOME}:
        return outcome_label(code)
    if code in {r.value for r in REVOKE_REASON}:
        return str(REVOKE_REASON[RevokeReason(code)])
    return ""
