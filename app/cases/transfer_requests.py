"""Transfer requests as the rest of the case area sees them: their codes, the pending request of
a case, and its cancellation (by the sender, or when the survivor withdraws consent to transfer
or the case is erased). The transfer itself is ``app.cases.transfer``; this module stays small
so that consent and erasure can cancel a request without importing it.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.cases.models import Case, CaseTransfer
from app.clock import utcnow
from app.db import db
from app.notifications import service as notifications
from app.notifications.kinds import Target


class TransferStatus(StrEnum):
    """Where a transfer request stands (stored codes, never renamed)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class TransferUrgency(StrEnum):
    """How soon the receiving organisation should answer (chosen by the sender)."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class CancelReason(StrEnum):
    """Why a pending request ended without an answer (stored in ``reason`` and the trail)."""

    CANCELLED_BY_SENDER = "cancelled_by_sender"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CASE_ERASED = "case_erased"


class DeclineReason(StrEnum):
    """Why the receiving organisation declined (the receiving supervisor's choice)."""

    NO_CAPACITY = "no_capacity"
    OUTSIDE_AREA = "outside_area"
    SERVICES_NOT_OFFERED = "services_not_offered"
    SURVIVOR_NOT_REACHABLE = "survivor_not_reachable"
    OTHER_REASON = "other_reason"


STATUS_LABELS = {
    TransferStatus.PENDING: _l("Waiting for an answer"),
    TransferStatus.ACCEPTED: _l("Accepted"),
    TransferStatus.DECLINED: _l("Declined"),
    TransferStatus.CANCELLED: _l("Cancelled"),
}
URGENCY_LABELS = {
    TransferUrgency.URGENT: _l("Urgent"),
    TransferUrgency.HIGH: _l("High"),
    TransferUrgency.NORMAL: _l("Normal"),
}
CANCEL_LABELS = {
    CancelReason.CANCELLED_BY_SENDER: _l("Cancelled by the sending organisation"),
    CancelReason.CONSENT_WITHDRAWN: _l("The survivor withdrew consent to transfer"),
    CancelReason.CASE_ERASED: _l("Case erased"),
}
DECLINE_LABELS = {
    DeclineReason.NO_CAPACITY: _l("No capacity to take the case now"),
    DeclineReason.OUTSIDE_AREA: _l("The survivor lives outside our area"),
    DeclineReason.SERVICES_NOT_OFFERED: _l("We do not offer the services needed"),
    DeclineReason.SURVIVOR_NOT_REACHABLE: _l("We cannot reach the survivor safely"),
    DeclineReason.OTHER_REASON: _l("Another reason (discuss with the sender)"),
}


def pending_for(case: Case) -> CaseTransfer | None:
    """The case's pending transfer request, if any (at most one: a unique partial index)."""
    found: CaseTransfer | None = db.session.execute(
        select(CaseTransfer).where(CaseTransfer.case_id == case.id,
                                   CaseTransfer.status == TransferStatus.PENDING)
    ).scalar_one_or_none()
    return found


def cancel_pending(case: Case, user: User | None, *, reason: str) -> bool:
    """End the case's pending request without an answer, in the caller's transaction (a
    conditional update: a request accepted or declined meanwhile is left as it is). Audited;
    returns whether a request was cancelled."""
    code = CancelReason(reason)
    found = db.session.execute(
        select(CaseTransfer.id).where(CaseTransfer.case_id == case.id,
                                      CaseTransfer.status == TransferStatus.PENDING)
    ).scalar_one_or_none()
    if found is None:
        return False
    done = db.session.execute(
        update(CaseTransfer).where(CaseTransfer.id == found,
                                   CaseTransfer.status == TransferStatus.PENDING)
        .values(status=TransferStatus.CANCELLED.value, reason=code.value,
                decided_by_id=user.id if user else None, decided_at=utcnow())
        .execution_options(synchronize_session="fetch"))
    if getattr(done, "rowcount", 0) != 1:
        return False
    record(Action.CASE_TRANSFER_CANCEL, object_type=ObjectType.CASE_TRANSFER, object_id=found,
           reason=code.value)
    notifications.discard(Target.CASE_TRANSFER, [found])  # nothing left to decide
    return True
