"""Consent: what the survivor agreed to, per kind, and what follows when it changes.

The newest decision per kind (and per service type for consent to share) is in force; history
stays. Withdrawing consent to share with a type of service is announced on
``app.core.hooks.consent_withdrawn``: referrals listen and revoke what the consent covered, in
the same transaction, without this module knowing about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.cases import gbvims, transfer_requests
from app.cases.models import Case, ConsentRecord
from app.cases.rules import ensure_writable
from app.clock import utcnow
from app.core import hooks
from app.core.errors import CaseError, StaleError
from app.core.versioning import saving
from app.db import db
from app.submissions.service import Submission, claim


class ConsentKind(StrEnum):
    """What a consent decision is about (the stored code is the value; never renamed)."""

    SERVICES = "services"    # case management services: needed for anything beyond intake
    REPORTING = "reporting"  # non-identifying statistics
    SHARE = "share"          # sharing with one type of service (``service_type``)
    TRANSFER = "transfer"    # handing the case to another organisation (``app.cases.transfer``)


#: Labels of the consent kinds (consent to share is labelled with its service type).
KIND_LABELS = {
    ConsentKind.SERVICES: _l("Case management services"),
    ConsentKind.REPORTING: _l("Non-identifying statistics"),
    ConsentKind.TRANSFER: _l("Transfer to another organisation"),
}

#: The kinds recorded once per case (consent to share is per service type).
WHOLE_CASE_KINDS = (ConsentKind.SERVICES, ConsentKind.REPORTING, ConsentKind.TRANSFER)


@dataclass
class ConsentState:
    """The consent in force for a case, per kind."""

    services: ConsentRecord | None
    reporting: ConsentRecord | None
    share: dict[str, ConsentRecord]
    transfer: ConsentRecord | None = None

    def has(self, kind: str, service_type: str | None = None) -> bool:
        """Whether consent of this kind is currently given."""
        rec = self.share.get(service_type or "") if kind == ConsentKind.SHARE \
            else getattr(self, kind)
        return bool(rec and rec.granted)


def consent_state(case: Case) -> ConsentState:
    """The newest decision per kind (and per service type for sharing)."""
    rows = db.session.execute(
        select(ConsentRecord).where(ConsentRecord.case_id == case.id)
        .order_by(ConsentRecord.position)
    ).scalars().all()
    state = ConsentState(None, None, {})
    for r in rows:  # later rows override earlier ones
        if r.kind == ConsentKind.SHARE and r.service_type:
            state.share[r.service_type] = r
        elif r.kind in WHOLE_CASE_KINDS:
            setattr(state, r.kind, r)
    return state


def parse_kind(kind: str) -> tuple[ConsentKind, str | None]:
    """``services``, ``reporting``, ``transfer`` or ``share:<service type>`` as (kind, service
    type)."""
    if kind.startswith(f"{ConsentKind.SHARE}:"):
        service_type = kind.split(":", 1)[1]
        if service_type not in gbvims.SERVICE_TYPES:
            raise CaseError(str(_l("Unknown service type.")))
        return ConsentKind.SHARE, service_type
    if kind not in WHOLE_CASE_KINDS:
        raise CaseError(str(_l("Unknown kind of consent.")))
    return ConsentKind(kind), None


def child_consent_problem(is_child: bool, granted: bool, child_assent: bool | None,
                          given_by: str, caregiver_not_asked_reason: str | None) -> str | None:
    """What a child's consent still lacks, or None: for a child, consent needs the child's
    assent and either the caregiver's consent or the reason the caregiver was not asked. Asked
    by ``record_consent`` and by the field intake form before anything is sealed."""
    if not (is_child and granted):
        return None
    if child_assent is None:
        return str(_l("For a child, record whether the child assents."))
    if given_by == "survivor" and not caregiver_not_asked_reason:
        return str(_l("For a child, record the caregiver's consent or why the caregiver was "
                      "not asked."))
    return None


def record_consent(user: User, case: Case, *, kind: str, granted: bool, given_by: str,
                   method: str, child_assent: bool | None = None,
                   caregiver_not_asked_reason: str | None = None,
                   share_fields: list[str] | None = None,
                   once: Submission | None = None,
                   recorded_at: datetime | None = None) -> ConsentRecord:
    """Record consent or its withdrawal; it takes effect at once (audited).

    ``kind`` is ``services``, ``reporting``, ``transfer`` or ``share:<service type>``. For a child, consent
    needs the child's assent and either the caregiver's consent or the reason it was not sought.
    ``once``, the form's one-time token, is claimed with the record. Refused on a closed case.
    ``recorded_at``: when the decision was taken, if not now (a field intake's capture time).
    """
    ensure_writable(case)
    what, service_type = parse_kind(kind)
    if (problem := child_consent_problem(case.is_child, granted, child_assent, given_by,
                                         caregiver_not_asked_reason)) is not None:
        raise CaseError(problem)
    with saving(case, StaleError):
        position = 1 + int(db.session.execute(
            select(func.count()).select_from(ConsentRecord).where(ConsentRecord.case_id == case.id)
        ).scalar_one())
        rec = ConsentRecord(case_id=case.id, position=position, kind=what.value,
                            service_type=service_type, granted=granted,
                            share_fields=",".join(share_fields or [])
                            if what == ConsentKind.SHARE else "",
                            given_by=given_by, method=method, child_assent=child_assent,
                            caregiver_not_asked_reason=caregiver_not_asked_reason or None,
                            recorded_by_id=user.id, recorded_at=recorded_at or utcnow())
        db.session.add(rec)
        db.session.flush()
        record(Action.CONSENT_RECORD, object_type=ObjectType.CASE, object_id=case.id,
               reason=f"{what}{':' + service_type if service_type else ''}:"
                      f"{'given' if granted else 'withdrawn'}")
        after_consent_change(case, what, service_type, granted)
        claim(once, ObjectType.CONSENT, rec.id)
    return rec


def after_consent_change(case: Case, kind: str, service_type: str | None, granted: bool) -> None:
    """Announce a withdrawn consent to share (referrals revoke what it covered, at once); a
    withdrawn consent to transfer cancels the pending transfer request."""
    if kind == ConsentKind.SHARE and service_type and not granted:
        hooks.consent_withdrawn.emit(case=case, kind=kind, service_type=service_type)
    if kind == ConsentKind.TRANSFER and not granted:
        transfer_requests.cancel_pending(case, None, reason="consent_withdrawn")


def require_services_consent(case: Case) -> None:
    """Refuse any action beyond intake without consent for services."""
    if not consent_state(case).has(ConsentKind.SERVICES):
        raise CaseError(str(_l("Record the survivor's consent for services first. Without it "
                               "only intake is possible.")))
