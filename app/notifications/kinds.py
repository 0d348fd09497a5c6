"""The kinds of notification and what each says (a kind and a reference, nothing more)."""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l


class Kind(enum.StrEnum):
    """Stored codes: never renamed."""

    REFERRAL_NEW = "referral_new"
    REFERRAL_NEW_URGENT = "referral_new_urgent"
    REFERRAL_ANSWERED = "referral_answered"
    PLAN_APPROVED = "plan_approved"
    CLOSURE_APPROVED = "closure_approved"
    CLOSURE_SENT_BACK = "closure_sent_back"
    CASE_ASSIGNED = "case_assigned"
    CLINICAL_WINDOW_CLOSING = "clinical_window_closing"
    TRANSFER_REQUESTED = "transfer_requested"
    FIELD_INTAKE_HANDED_OVER = "field_intake_handed_over"


class Target(enum.StrEnum):
    """What a notification points at (``object_type``)."""

    CASE = "case"
    REFERRAL = "referral"
    CASE_TRANSFER = "case_transfer"
    FIELD_INTAKE = "field_intake"


#: What each kind says; the page adds the reference the reader may see (a case number, or a
#: referral reference for a provider).
TEXTS: dict[Kind, Any] = {
    Kind.REFERRAL_NEW: _l("New referral to your service"),
    Kind.REFERRAL_NEW_URGENT: _l("New urgent referral to your service"),
    Kind.REFERRAL_ANSWERED: _l("Referral answered"),
    Kind.PLAN_APPROVED: _l("Action plan approved"),
    Kind.CLOSURE_APPROVED: _l("Closure approved"),
    Kind.CLOSURE_SENT_BACK: _l("Closure sent back"),
    Kind.CASE_ASSIGNED: _l("Case assigned to you"),
    Kind.CLINICAL_WINDOW_CLOSING: _l("Urgent clinical window closes within 12 hours"),
    Kind.TRANSFER_REQUESTED: _l("Another organisation asks yours to take a case"),
    Kind.FIELD_INTAKE_HANDED_OVER: _l("A field intake was handed over to you"),
}

URGENT = frozenset({Kind.REFERRAL_NEW_URGENT, Kind.CLINICAL_WINDOW_CLOSING})
