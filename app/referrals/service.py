"""Writes for referrals: sending (consent-gated), the recipient's answers, revocation.

Every step is audited; a refused step is audited as denied and changes nothing. Each write
takes a typed command (``NewReferral``, ``ReferralAnswer``) built by the route from a
validated form; the service checks every value again, whatever the form said.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases import gbvims, justifications
from app.cases.consent import ConsentKind, consent_state
from app.cases.models import Case, Incident
from app.cases.records import writable
from app.clock import utcnow
from app.core import hooks
from app.core.text import blank_to_none
from app.core.versioning import check_version, saving
from app.crypto.envelope import shred
from app.db import db, transaction
from app.directory.models import Service
from app.localtime import organisation_zone
from app.referrals import fields, notices, queries
from app.referrals.errors import FieldsOutsideConsent as FieldsOutsideConsent
from app.referrals.errors import ReferralError as ReferralError
from app.referrals.errors import ReferralStale as ReferralStale
from app.referrals.errors import beside as beside
from app.referrals.labels import field_label
from app.referrals.models import (
    NotProvidedReason,
    Referral,
    ReferralEvent,
    ReferralStatus,
    RevokeReason,
    ServiceOutcome,
    Urgency,
)
from app.referrals.reading import answers as answers
from app.referrals.reading import override_justification as override_justification
from app.referrals.reading import sent_message as sent_message
from app.referrals.reading import shared_values as shared_values
from app.submissions.service import Submission, claim

MESSAGE_MAX = 4000  # the sealed message's and a history note's limit (models)
RESPONSE_HOURS = {Urgency.URGENT: 4, Urgency.HIGH: 24, Urgency.NORMAL: 72}


class AnswerOp(StrEnum):
    """The recipient's answers (the last part of their URL)."""

    ACCEPT = "accept"
    DECLINE = "decline"
    COMPLETE = "complete"


# Which answer moves a referral from which status to which.
TRANSITIONS = {
    AnswerOp.ACCEPT: ({ReferralStatus.SENT}, ReferralStatus.ACCEPTED),
    AnswerOp.DECLINE: ({ReferralStatus.SENT}, ReferralStatus.DECLINED),
    AnswerOp.COMPLETE: ({ReferralStatus.ACCEPTED}, ReferralStatus.COMPLETED),
}
ACTIONS = {AnswerOp.ACCEPT: Action.REFERRAL_ACCEPT, AnswerOp.DECLINE: Action.REFERRAL_DECLINE,
           AnswerOp.COMPLETE: Action.REFERRAL_COMPLETE}
WRONG_ORDER = {
    AnswerOp.ACCEPT: _l("Only a referral that has just been sent can be accepted."),
    AnswerOp.DECLINE: _l("Only a referral that has just been sent can be declined."),
    AnswerOp.COMPLETE: _l("Only an accepted referral can be completed."),
}


@dataclass(frozen=True)
class NewReferral:
    """What the sender asks for: the service, how urgent, the fields to share beyond the
    minimum (codes of ``fields.OPTIONAL``), a message, and, when there is no consent for the
    service's type, a supervisor's override (a code of ``justifications.OVERRIDE_REASONS`` and
    an explanation)."""

    service_id: uuid.UUID
    urgency: Urgency = Urgency.NORMAL
    fields: tuple[str, ...] = ()
    message: str | None = None
    override_code: str | None = None
    override_text: str | None = None
    attachments: tuple[uuid.UUID, ...] = ()  # the case's files to share (consent "attachments")


@dataclass(frozen=True)
class ReferralAnswer:
    """The recipient's answer: accept, decline (``note``: the reason, required) or complete
    (``outcome``: a ``ServiceOutcome`` code, required; ``outcome_reason``: a
    ``NotProvidedReason`` code, required unless the service was provided; ``note``: optional,
    sealed), based on the referral as it was at ``version``."""

    op: AnswerOp
    note: str | None = None
    version: int | None = None
    outcome: str | None = None
    outcome_reason: str | None = None


def _refuse(action: Action, object_type: str, object_id: Any, reason: str,
            message: Any, error: ReferralError | None = None) -> NoReturn:
    with transaction():
        record(action, object_type=object_type, object_id=object_id, outcome=Outcome.DENIED,
               reason=reason)
    raise error if error is not None else ReferralError(str(message))


def response_hours(urgency: str) -> int:
    """Hours the service has to answer, by urgency (``REFERRAL_RESPONSE_HOURS`` overrides)."""
    table = {**RESPONSE_HOURS, **current_app.config.get("REFERRAL_RESPONSE_HOURS", {})}
    return int(table.get(urgency, RESPONSE_HOURS[Urgency.NORMAL]))


def offers(case: Case) -> Callable[[str], fields.Offer]:
    """What a referral of ``case`` may share, by type of service, by the consent now
    (``fields.offer``): the referral form offers exactly this and ``create`` refuses anything
    else, so the two cannot disagree."""
    share = consent_state(case).share
    return lambda service_type: fields.offer(share.get(service_type))


def _clinical_deadline(case: Case) -> datetime | None:
    """End of the 72-hour window of the most recent rape incident still inside it, if any."""
    rapes = db.session.execute(
        select(Incident.incident_date, Incident.incident_time, Incident.time_of_day)
        .where(Incident.case_id == case.id, Incident.core_type == "rape")).all()
    now = utcnow()
    zone = organisation_zone(case.organisation_id)  # the window counts in the case's zone
    open_windows = [gbvims.clinical_window_end(day, at=at, part=part, zone=zone)
                    for day, at, part in rapes]
    live = [end for end in open_windows if end > now]
    return max(live) if live else None


def _urgency(value: str) -> Urgency | None:
    """The urgency ``value`` names, or None for anything else."""
    return Urgency(value) if value in {u.value for u in Urgency} else None


def create(user: User, case: Case, ask: NewReferral, *, once: Submission | None = None) -> Referral:
    """Send a referral of ``case`` to a service, sharing the minimum plus ``ask.fields``.

    Refused (audited, nothing saved) when the service is unknown or inactive, when the urgency
    is not one of ``Urgency``, when there is no consent to share with that type of service
    (unless a supervisor overrides with a reason code from ``justifications.OVERRIDE_REASONS``,
    which is flagged), or when a field is outside what the consent allows (``offers``). A
    message over ``MESSAGE_MAX`` characters is refused. The override's text is sealed under the
    case's key; the trail gets only its code and length, and text naming the survivor is refused
    (``JustificationError``, audited, nothing saved). ``once``, the form's one-time token, is
    claimed with the referral (``AlreadySaved`` if an earlier POST of it already sent one).
    """
    writable(case)
    service = db.session.get(Service, ask.service_id)
    if service is None or not service.active:
        _refuse(Action.REFERRAL_CREATE, ObjectType.CASE, case.id, "service_unavailable",
                _l("That service does not exist or is not active."))
    urgency = _urgency(ask.urgency)
    if urgency is None:
        _refuse(Action.REFERRAL_CREATE, ObjectType.CASE, case.id, "bad_urgency", _l("Choose an urgency."))
    message = (ask.message or "").strip() or None
    if message is not None and len(message) > MESSAGE_MAX:
        raise ReferralError(str(_l("The message is too long: at most %(n)d characters.",
                                   n=MESSAGE_MAX)))
    chosen = list(dict.fromkeys(ask.fields))  # each field once, in the order given
    override_code = ask.override_code
    allowed = offers(case)(service.service_type)
    why = None
    if not allowed.consented:
        if not can(user, Permission.REFERRAL_OVERRIDE) or not override_code:
            _refuse(Action.REFERRAL_CREATE, ObjectType.CASE, case.id, "no_consent_for_service_type",
                    _l("The survivor has not consented to share with this type of service. "
                       "Record consent first (a supervisor may override with a reason)."))
        why = justifications.parse(justifications.OVERRIDE_REASONS, override_code,
                                   ask.override_text)
        justifications.check(Action.REFERRAL_OVERRIDE, case, why)
    if ask.attachments and not allowed.attachments:
        no_files = _l("The survivor has not consented to share attached files with this type "
                      "of service. Untick them, or record that consent first.")
        beside_files = beside("attachments", no_files)
        _refuse(Action.REFERRAL_CREATE, ObjectType.CASE, case.id, "attachments_outside_consent",
                no_files, beside_files)
    outside = [c for c in chosen if c not in allowed.fields]
    if outside:
        # The message names the fields (labels, never values); the trail gets codes only.
        known = [c for c in outside if c in fields.OPTIONAL]
        names = ", ".join(field_label(c) for c in known) or str(_l("an unknown field"))
        message = _l("Fields not covered by the survivor's consent for this service type: "
                     "%(fields)s. Untick them, or record the survivor's consent to share them "
                     "first.", fields=names)
        _refuse(Action.REFERRAL_CREATE, ObjectType.CASE, case.id, "fields_outside_consent",
                message, FieldsOutsideConsent(message, tuple(known)))
    deadline = _clinical_deadline(case) if service.service_type == "health_medical" else None
    now = utcnow()
    if deadline is not None:
        urgency = Urgency.URGENT
    with transaction():
        referral = Referral(case_id=case.id, service_id=service.id,
                            service_type=service.service_type, urgency=urgency.value,
                            urgent_clinical=deadline is not None, clinical_deadline_at=deadline,
                            status=ReferralStatus.SENT.value, shared_fields=",".join(chosen),
                            consent_override=why is not None,
                            override_code=why.code if why else None, sent_by_id=user.id, sent_at=now,
                            respond_by=now + timedelta(hours=response_hours(urgency)))
        referral.share = json.dumps(fields.extract(case, chosen, service.service_type),
                                    ensure_ascii=False)
        referral.message = message
        db.session.add(referral)
        db.session.flush()
        sent = _event(referral, case, ReferralStatus.SENT, user, None, None)
        if why is not None:
            sent.justification = why.text
        record(Action.REFERRAL_CREATE, object_type=ObjectType.REFERRAL, object_id=referral.id,
               reason=f"{service.service_type}:{urgency}")
        if why is not None:
            record(Action.REFERRAL_OVERRIDE, object_type=ObjectType.REFERRAL, object_id=referral.id,
                   reason=why.audit_reason())
        # Chosen attached files are copied under the referral's key (app/attachments).
        hooks.referral_sent.emit(referral=referral, case=case, user=user,
                                 attachments=tuple(ask.attachments))
        claim(once, ObjectType.REFERRAL, referral.id)
        notices.sent(referral, service.organisation_id, user)
    return referral


def _event(referral: Referral, case: Case, to: str, user: User | None, reason: str | None,
           note: str | None) -> ReferralEvent:
    ev = ReferralEvent(referral_id=referral.id, case_id=case.id, to_status=str(to), reason=reason,
                       by_id=user.id if user else None, at=utcnow(), data_key=case.data_key)
    ev.note = blank_to_none(note)
    db.session.add(ev)
    return ev


def may_answer(referral: Referral, op: AnswerOp) -> bool:
    """Whether the recipient may give this answer now (``TRANSITIONS``)."""
    return referral.status in TRANSITIONS[op][0]


def may_revoke(referral: Referral) -> bool:
    """Whether the sender may still revoke the referral."""
    return referral.status != ReferralStatus.REVOKED


def _outcome(reply: ReferralAnswer) -> tuple[ServiceOutcome, NotProvidedReason | None]:
    """The outcome a completion states, checked: an outcome is required; unless the service
    was provided, why not (required when not provided, optional when partly provided); for a
    provided service a reason is dropped."""
    codes = {o.value for o in ServiceOutcome}
    if reply.outcome not in codes:
        raise beside("outcome", _l("Choose the outcome: was the service provided?"))
    outcome = ServiceOutcome(reply.outcome)
    if outcome is ServiceOutcome.PROVIDED:
        return outcome, None
    reason = reply.outcome_reason or None
    if reason is not None and reason not in {r.value for r in NotProvidedReason}:
        raise beside("outcome_reason", _l("Choose a reason from the list."))
    if reason is None and outcome is ServiceOutcome.NOT_PROVIDED:
        raise beside("outcome_reason", _l("Choose why the service was not provided."))
    return outcome, NotProvidedReason(reason) if reason else None


def _checked(op: AnswerOp, reply: ReferralAnswer) -> tuple[
        str | None, ServiceOutcome | None, NotProvidedReason | None]:
    """The note and outcome of an answer, checked (``ReferralError`` beside its field)."""
    note = (reply.note or "").strip() or None
    if op is AnswerOp.DECLINE and note is None:
        raise beside("note", _l("Give a reason for declining."))
    if note is not None and len(note) > MESSAGE_MAX:
        raise beside("note", _l("The note is too long: at most %(n)d characters.", n=MESSAGE_MAX))
    outcome, why_not = _outcome(reply) if op is AnswerOp.COMPLETE else (None, None)
    return note, outcome, why_not


def answer_problem(reply: ReferralAnswer) -> ReferralError | None:
    """What ``answer`` would refuse in the answer's own values (not the referral's state),
    without saving anything: lets a form that is refused for another reason (the confirming
    tick) show every problem at once."""
    try:
        _checked(AnswerOp(reply.op), reply)
    except ReferralError as exc:
        return exc
    return None


def answer(user: User, referral: Referral, reply: ReferralAnswer) -> None:
    """The recipient accepts, declines (with a reason) or completes (with an outcome: see
    ``_outcome``). A refused answer changes nothing; ``ReferralError.field`` says which field
    the message belongs beside."""
    try:
        op = AnswerOp(reply.op)
    except ValueError:
        raise ReferralError(str(_l("Choose accept, decline or complete."))) from None
    if not may_answer(referral, op):
        _refuse(ACTIONS[op], ObjectType.REFERRAL, referral.id, f"wrong_order:{referral.status}",
                WRONG_ORDER[op])
    note, outcome, why_not = _checked(op, reply)
    check_version(referral, reply.version, ReferralStale)
    case = db.session.get(Case, referral.case_id)
    assert case is not None
    to = TRANSITIONS[op][1]
    with saving(referral, ReferralStale):
        referral.status = to.value
        now = utcnow()
        if op in (AnswerOp.ACCEPT, AnswerOp.DECLINE):
            referral.responded_at = now
        if op in (AnswerOp.DECLINE, AnswerOp.COMPLETE):
            referral.closed_at = now
        if outcome is not None:
            referral.outcome = outcome.value
            referral.outcome_reason = why_not.value if why_not else None
        _event(referral, case, to, user, outcome.value if outcome else None, note)
        record(ACTIONS[op], object_type=ObjectType.REFERRAL, object_id=referral.id,
               reason=f"{outcome}:{why_not}" if why_not else (outcome.value if outcome else None))
        notices.answered(referral, case, user)


def revoke(user: User | None, referral: Referral, reason: RevokeReason) -> None:
    """End the recipient's access at once and destroy the share (crypto-shredding)."""
    try:
        code = RevokeReason(reason)  # the reason goes to the trail: codes only
    except ValueError:
        raise ReferralError(str(_l("Choose a reason from the list."))) from None
    if not may_revoke(referral):
        raise ReferralError(str(_l("This referral is already revoked.")))
    case = db.session.get(Case, referral.case_id)
    assert case is not None
    with saving(referral, ReferralStale):
        _revoke(user, referral, case, code)


def _revoke(user: User | None, referral: Referral, case: Case, reason: str) -> None:
    if referral.status == ReferralStatus.REVOKED:
        return  # reached twice: a withdrawal covering both a referral and its parent
    referral.status = ReferralStatus.REVOKED.value
    referral.closed_at = utcnow()
    _event(referral, case, ReferralStatus.REVOKED, user, str(reason), None)
    shred(referral.data_key, object_type=ObjectType.REFERRAL, object_id=referral.id, reason=str(reason),
          action=Action.REFERRAL_REVOKE)
    notices.revoked(referral)  # the service can no longer open it
    for onward in queries.onward_of(referral):  # their shares were cut from this one
        _revoke(user, onward, case, RevokeReason.PARENT_REVOKED)


def active_for(case: Case, service_type: str | None = None) -> list[Referral]:
    """Referrals of a case the recipient can still read (optionally of one service type)."""
    stmt = select(Referral).where(Referral.case_id == case.id, Referral.status != "revoked")
    if service_type:
        stmt = stmt.where(Referral.service_type == service_type)
    return list(db.session.execute(stmt).scalars())


@hooks.consent_withdrawn.subscribe
def on_consent_withdrawn(case: Case, kind: str, service_type: str | None) -> int:
    """Withdrawing consent to share with a service type revokes its referrals (same transaction)."""
    if kind != ConsentKind.SHARE or not service_type:
        return 0
    found = active_for(case, service_type)
    for referral in found:
        _revoke(None, referral, case, "consent_withdrawn")
    return len(found)


@hooks.case_erased.subscribe
def shred_all(case: Case) -> None:
    """Destroy every referral share of a case being erased (same transaction)."""
    for referral in db.session.execute(
            select(Referral).where(Referral.case_id == case.id)).scalars():
        if referral.status != "revoked":
            shred(referral.data_key, object_type=ObjectType.REFERRAL, object_id=referral.id,
                  reason="case_erased", action=Action.REFERRAL_REVOKE)
