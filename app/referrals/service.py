"""Writes for referrals: sending (consent-gated), the recipient's answers, revocation.

Every step is audited; a refused step is audited as denied and changes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, has_permission
from app.cases import gbvims, justifications
from app.cases.models import Case, Incident
from app.cases.records import writable
from app.cases.service import consent_state
from app.clock import utcnow
from app.core.errors import CaseError
from app.core.text import blank_to_none
from app.core.versioning import Stale, check_version, saving
from app.crypto.envelope import shred
from app.db import db, transaction
from app.directory.models import Service
from app.referrals import fields
from app.referrals.models import Referral, ReferralEvent
from app.submissions.service import Submission, claim

RESPONSE_HOURS = {"urgent": 4, "high": 24, "normal": 72}
# Which answer moves a referral from which status to which.
TRANSITIONS = {"accept": ({"sent"}, "accepted"), "decline": ({"sent"}, "declined"),
               "complete": ({"accepted"}, "completed")}
ACTIONS = {"accept": Action.REFERRAL_ACCEPT, "decline": Action.REFERRAL_DECLINE,
           "complete": Action.REFERRAL_COMPLETE}
# Why a referral is revoked: the sender's choices (forms.RevokeForm), then the automatic ones.
REVOKE_REASONS = ("no_longer_needed", "sent_in_error", "survivor_request", "safety",
                  "consent_withdrawn", "case_erased")
WRONG_ORDER = {
    "accept": _l("Only a referral that has just been sent can be accepted."),
    "decline": _l("Only a referral that has just been sent can be declined."),
    "complete": _l("Only an accepted referral can be completed."),
}


class ReferralError(CaseError):
    """A refused referral step (message safe to show)."""


class ReferralStale(ReferralError, Stale):
    """Someone else changed the referral first (``app.core.versioning``); nothing was saved."""

    message = _l("Someone else changed this referral meanwhile. Nothing was saved: check its "
                 "status, then try again.")


def _refuse(action: Action, object_type: str, object_id: Any, reason: str, message: Any) -> None:
    with transaction():
        record(action, object_type=object_type, object_id=object_id, outcome=Outcome.DENIED,
               reason=reason)
    raise ReferralError(str(message))


def response_hours(urgency: str) -> int:
    """Hours the service has to answer, by urgency (``REFERRAL_RESPONSE_HOURS`` overrides)."""
    table = {**RESPONSE_HOURS, **current_app.config.get("REFERRAL_RESPONSE_HOURS", {})}
    return int(table.get(urgency, RESPONSE_HOURS["normal"]))


def _clinical_deadline(case: Case) -> datetime | None:
    """End of the 72-hour window of the most recent rape incident still inside it, if any."""
    rapes = db.session.execute(
        select(Incident.incident_date).where(Incident.case_id == case.id,
                                             Incident.core_type == "rape")).scalars()
    now = utcnow()
    open_windows = [gbvims.clinical_window_end(d) for d in rapes]
    live = [end for end in open_windows if end > now]
    return max(live) if live else None


def create(user: User, case: Case, *, service_id: uuid.UUID, urgency: str, chosen: list[str],
           message: str | None, override_code: str | None = None,
           override_text: str | None = None, once: Submission | None = None) -> Referral:
    """Send a referral of ``case`` to a service, sharing the minimum plus ``chosen`` fields.

    Refused (audited, nothing saved) when the service is unknown or inactive, when there is no
    consent to share with that type of service (unless a supervisor overrides with a reason
    code from ``justifications.OVERRIDE_REASONS``, which is flagged), or when a chosen field is
    outside what the consent allows. The override's text is sealed under the case's key; the
    trail gets only its code and length, and text naming the survivor is refused
    (``JustificationError``, audited, nothing saved). ``once``, the form's one-time token, is
    claimed with the referral (``AlreadySaved`` if an earlier POST of it already sent one).
    """
    writable(case)
    service = db.session.get(Service, service_id)
    if service is None or not service.active:
        _refuse(Action.REFERRAL_CREATE, "case", case.id, "service_unavailable",
                _l("That service does not exist or is not active."))
    assert service is not None
    if urgency not in RESPONSE_HOURS:
        _refuse(Action.REFERRAL_CREATE, "case", case.id, "bad_urgency", _l("Choose an urgency."))
    consent = consent_state(case).share.get(service.service_type)
    why = None
    if consent is None or not consent.granted:
        if not has_permission(user.role, Permission.REFERRAL_OVERRIDE) or not override_code:
            _refuse(Action.REFERRAL_CREATE, "case", case.id, "no_consent_for_service_type",
                    _l("The survivor has not consented to share with this type of service. "
                       "Record consent first (a supervisor may override with a reason)."))
        why = justifications.parse(justifications.OVERRIDE_REASONS, override_code,
                                   override_text)
        justifications.check(Action.REFERRAL_OVERRIDE, case, why)
    allowed = set(fields.parse(consent.share_fields)) if consent and consent.granted else set()
    outside = [c for c in chosen if c not in allowed]
    if outside:
        _refuse(Action.REFERRAL_CREATE, "case", case.id, "fields_outside_consent",
                _l("Some chosen fields are not covered by the survivor's consent for this "
                   "service type."))
    deadline = _clinical_deadline(case) if service.service_type == "health_medical" else None
    now = utcnow()
    if deadline is not None:
        urgency = "urgent"
    with transaction():
        referral = Referral(case_id=case.id, service_id=service.id,
                            service_type=service.service_type, urgency=urgency,
                            urgent_clinical=deadline is not None, clinical_deadline_at=deadline,
                            status="sent", shared_fields=",".join(chosen),
                            consent_override=why is not None,
                            override_code=why.code if why else None, sent_by_id=user.id, sent_at=now,
                            respond_by=now + timedelta(hours=response_hours(urgency)))
        referral.share = json.dumps(fields.extract(case, chosen, service.service_type),
                                    ensure_ascii=False)  # type: ignore[assignment]
        referral.message = blank_to_none(message)  # type: ignore[assignment]
        db.session.add(referral)
        db.session.flush()
        sent = _event(referral, case, "sent", user, None, None)
        if why is not None:
            sent.justification = why.text  # type: ignore[assignment]
        record(Action.REFERRAL_CREATE, object_type="referral", object_id=referral.id,
               reason=f"{service.service_type}:{urgency}")
        if why is not None:
            record(Action.REFERRAL_OVERRIDE, object_type="referral", object_id=referral.id,
                   reason=why.audit_reason())
        claim(once, ObjectType.REFERRAL, referral.id)
    return referral


def _event(referral: Referral, case: Case, to: str, user: User | None, reason: str | None,
           note: str | None) -> ReferralEvent:
    ev = ReferralEvent(referral_id=referral.id, case_id=case.id, to_status=to, reason=reason,
                       by_id=user.id if user else None, at=utcnow(), data_key=case.data_key)
    ev.note = blank_to_none(note)  # type: ignore[assignment]
    db.session.add(ev)
    return ev


def override_justification(referral: Referral) -> str | None:
    """The supervisor's explanation for a referral sent without consent (sealed under the
    case's key; callers show it to supervisors of the case only)."""
    if not referral.consent_override:
        return None
    sent: ReferralEvent | None = db.session.execute(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral.id,
                                    ReferralEvent.to_status == "sent")).scalars().first()
    return sent.justification if sent is not None else None


def shared_values(referral: Referral) -> dict[str, str]:
    """The shared fields (decrypted from the referral's own key)."""
    raw = referral.share
    return dict(json.loads(raw)) if raw else {}


def answer(user: User, referral: Referral, op: str, note: str | None, version: Any) -> None:
    """The recipient accepts, declines (with a reason) or completes (with an outcome)."""
    allowed_from, to = TRANSITIONS[op]
    if referral.status not in allowed_from:
        _refuse(ACTIONS[op], "referral", referral.id, f"wrong_order:{referral.status}",
                WRONG_ORDER[op])
    if op == "decline" and not (note or "").strip():
        raise ReferralError(str(_l("Give a reason for declining.")))
    check_version(referral, version, ReferralStale)
    case = db.session.get(Case, referral.case_id)
    assert case is not None
    with saving(referral, ReferralStale):
        referral.status = to
        now = utcnow()
        if op in ("accept", "decline"):
            referral.responded_at = now
        if op in ("decline", "complete"):
            referral.closed_at = now
        _event(referral, case, to, user, None, note)
        record(ACTIONS[op], object_type="referral", object_id=referral.id)


def revoke(user: User | None, referral: Referral, reason: str) -> None:
    """End the recipient's access at once and destroy the share (crypto-shredding)."""
    if reason not in REVOKE_REASONS:  # the reason goes to the trail: codes only
        raise ReferralError(str(_l("Choose a reason from the list.")))
    if referral.status == "revoked":
        raise ReferralError(str(_l("This referral is already revoked.")))
    case = db.session.get(Case, referral.case_id)
    assert case is not None
    with saving(referral, ReferralStale):
        _revoke(user, referral, case, reason)


def _revoke(user: User | None, referral: Referral, case: Case, reason: str) -> None:
    referral.status = "revoked"
    referral.closed_at = utcnow()
    _event(referral, case, "revoked", user, reason, None)
    shred(referral.data_key, object_type="referral", object_id=referral.id, reason=reason,
          action=Action.REFERRAL_REVOKE)


def active_for(case: Case, service_type: str | None = None) -> list[Referral]:
    """Referrals of a case the recipient can still read (optionally of one service type)."""
    stmt = select(Referral).where(Referral.case_id == case.id, Referral.status != "revoked")
    if service_type:
        stmt = stmt.where(Referral.service_type == service_type)
    return list(db.session.execute(stmt).scalars())


def on_consent_withdrawn(case: Case, service_type: str) -> int:
    """Withdrawing consent to share with a service type revokes its referrals (same transaction)."""
    found = active_for(case, service_type)
    for referral in found:
        _revoke(None, referral, case, "consent_withdrawn")
    return len(found)


def shred_all(case: Case) -> None:
    """Destroy every referral share of a case being erased (same transaction)."""
    for referral in db.session.execute(
            select(Referral).where(Referral.case_id == case.id)).scalars():
        if referral.status != "revoked":
            shred(referral.data_key, object_type="referral", object_id=referral.id,
                  reason="case_erased", action=Action.REFERRAL_REVOKE)
