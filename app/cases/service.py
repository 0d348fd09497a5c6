"""Writes of the case area, each one audited in its own transaction: opening a case, consent,
workflow, assignment, closure, break-glass and erasure. Views only call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, has_permission
from app.cases import gbvims, justifications, sealing
from app.cases.models import (
    BreakGlassGrant,
    Case,
    CaseTombstone,
    ConsentRecord,
    StatusChange,
)
from app.cases.numbering import next_case_number
from app.cases.workflow import (
    CLOSURE_REASONS,
    REOPEN_REASONS,
    WorkflowError,
    beyond_intake,
    check_move,
)
from app.clock import utcnow
from app.core import versioning
from app.core.errors import CaseError, StaleError
from app.db import db, transaction
from app.directory.models import Site
from app.submissions.service import Submission, claim

IDENTITY_FIELDS = ("full_name", "alias", "date_of_birth", "estimated_age", "phone", "location",
                   "safe_contact")
CATEGORY_FIELDS = ("sex", "nationality_group", "displacement_status", "disability")
# Why a case is erased (codes: they go to the tombstone and the audit trail).
ERASE_REASONS = ("survivor_request", "recorded_in_error", "retention_expired")


def check_version(obj: Any, expected: str | int | None) -> None:
    """Refuse a save based on an old copy (optimistic locking across requests)."""
    versioning.check_version(obj, expected, StaleError)


def saving(obj: Any) -> AbstractContextManager[Any]:
    """The transaction of every save in the case area: a save that loses the race to the
    UPDATE of ``obj`` (or of the case it touches) raises ``StaleError``, never a 500 page."""
    return versioning.saving(obj, StaleError)


def _age_from(values: Mapping[str, Any]) -> int | None:
    dob = values.get("date_of_birth")
    if dob:
        today = utcnow().date()
        return int(today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day)))
    age = values.get("estimated_age")
    return int(age) if age is not None else None


def open_case(user: User, site: Site, values: Mapping[str, Any],
              once: Submission | None = None) -> Case:
    """Open a case at one of the user's sites with its own data key (audited). ``once``, the
    intake form's one-time token, is claimed with it (``AlreadySaved`` if it already was)."""
    if site.id not in {s.id for s in user.sites} or site.organisation_id != user.organisation_id:
        raise CaseError(str(_l("You can only open cases at your own sites.")))
    age = _age_from(values)
    with transaction():
        case = Case(organisation_id=user.organisation_id, site_id=site.id,
                    primary_worker_id=user.id, opened_on=utcnow().date(), status="open",
                    case_number=next_case_number(site, utcnow().year),
                    age_group=gbvims.age_group(age), is_child=age is not None and age < 18,
                    **{f: values.get(f) or "unknown" for f in CATEGORY_FIELDS})  # type: ignore[arg-type]
        for name in IDENTITY_FIELDS:
            setattr(case, name, sealing.clean(values.get(name)))
        db.session.add(case)
        db.session.flush()
        record(Action.CASE_CREATE, object_type=ObjectType.CASE, object_id=case.id)
        claim(once, ObjectType.CASE, case.id)
    return case


def update_identity(user: User, case: Case, values: Mapping[str, Any], version: Any) -> None:
    """Change a case's identity and categories (optimistic lock; audited)."""
    check_version(case, version)
    age = _age_from(values)
    with saving(case):
        for f in CATEGORY_FIELDS:
            setattr(case, f, values.get(f) or "unknown")
        case.age_group = gbvims.age_group(age)
        case.is_child = age is not None and age < 18
        for name in IDENTITY_FIELDS:
            setattr(case, name, sealing.clean(values.get(name)))
        case.updated_at = utcnow()
        record(Action.CASE_UPDATE, object_type=ObjectType.CASE, object_id=case.id, reason="identity")


# --- Consent ------------------------------------------------------------------------------

@dataclass
class ConsentState:
    """The consent in force for a case, per kind."""

    services: ConsentRecord | None
    reporting: ConsentRecord | None
    share: dict[str, ConsentRecord]

    def has(self, kind: str, service_type: str | None = None) -> bool:
        """Whether consent of this kind is currently given."""
        rec = self.share.get(service_type or "") if kind == "share" else getattr(self, kind)
        return bool(rec and rec.granted)


def consent_state(case: Case) -> ConsentState:
    """The newest decision per kind (and per service type for sharing)."""
    rows = db.session.execute(
        select(ConsentRecord).where(ConsentRecord.case_id == case.id)
        .order_by(ConsentRecord.position)
    ).scalars().all()
    state = ConsentState(None, None, {})
    for r in rows:  # later rows override earlier ones
        if r.kind == "share" and r.service_type:
            state.share[r.service_type] = r
        elif r.kind in ("services", "reporting"):
            setattr(state, r.kind, r)
    return state


def record_consent(user: User, case: Case, *, kind: str, granted: bool, given_by: str,
                   method: str, child_assent: bool | None = None,
                   caregiver_not_asked_reason: str | None = None,
                   share_fields: list[str] | None = None,
                   once: Submission | None = None) -> ConsentRecord:
    """Record consent or its withdrawal; it takes effect at once (audited).

    ``kind`` is ``services``, ``reporting`` or ``share:<service type>``. For a child, consent
    needs the child's assent and either the caregiver's consent or the reason it was not sought.
    ``once``, the form's one-time token, is claimed with the record.
    """
    service_type = None
    if kind.startswith("share:"):
        kind, service_type = "share", kind.split(":", 1)[1]
        if service_type not in gbvims.SERVICE_TYPES:
            raise CaseError(str(_l("Unknown service type.")))
    elif kind not in ("services", "reporting"):
        raise CaseError(str(_l("Unknown kind of consent.")))
    if case.is_child and granted:
        if child_assent is None:
            raise CaseError(str(_l("For a child, record whether the child assents.")))
        if given_by == "survivor" and not caregiver_not_asked_reason:
            raise CaseError(str(_l("For a child, record the caregiver's consent or why the "
                                   "caregiver was not asked.")))
    with saving(case):
        position = 1 + int(db.session.execute(
            select(func.count()).select_from(ConsentRecord).where(ConsentRecord.case_id == case.id)
        ).scalar_one())
        rec = ConsentRecord(case_id=case.id, position=position, kind=kind,
                            service_type=service_type, granted=granted,
                            share_fields=",".join(share_fields or []) if kind == "share" else "",
                            given_by=given_by, method=method, child_assent=child_assent,
                            caregiver_not_asked_reason=caregiver_not_asked_reason or None,
                            recorded_by_id=user.id, recorded_at=utcnow())
        db.session.add(rec)
        db.session.flush()
        record(Action.CONSENT_RECORD, object_type=ObjectType.CASE, object_id=case.id,
               reason=f"{kind}{':' + service_type if service_type else ''}:"
                      f"{'given' if granted else 'withdrawn'}")
        after_consent_change(case, kind, service_type, granted)
        claim(once, ObjectType.CONSENT, rec.id)
    return rec


def after_consent_change(case: Case, kind: str, service_type: str | None, granted: bool) -> None:
    """Withdrawing consent to share with a service type revokes its referrals at once."""
    if kind == "share" and service_type and not granted:
        from app.referrals.service import on_consent_withdrawn

        on_consent_withdrawn(case, service_type)


def require_services_consent(case: Case) -> None:
    """Refuse any action beyond intake without consent for services."""
    if not consent_state(case).has("services"):
        raise CaseError(str(_l("Record the survivor's consent for services first. Without it "
                               "only intake is possible.")))


# --- Workflow -----------------------------------------------------------------------------

def _status(user: User, case: Case, to: str, reason: str | None, action: Action,
            detail: str | None = None) -> None:
    change = StatusChange(case_id=case.id, from_status=case.status, to_status=to, reason=reason,
                          by_id=user.id, at=utcnow(), data_key=case.data_key)
    change.reason_detail = sealing.clean(detail)  # type: ignore[assignment]
    db.session.add(change)
    case.status = to
    case.updated_at = utcnow()
    if to == "closed":
        case.closed_at = utcnow()
    record(action, object_type=ObjectType.CASE, object_id=case.id, reason=f"{reason or to}")


def _known_reason(reason: str, known: Mapping[str, Any] | tuple[str, ...]) -> None:
    """Reasons reach the audit trail: only codes from the list, never typed text."""
    if reason not in known:
        raise CaseError(str(_l("Choose a reason from the list.")))


def change_status(user: User, case: Case, to: str, version: Any) -> None:
    """Move a case one stage forward or back (consent for services needed past intake)."""
    check_version(case, version)
    try:
        check_move(case.status, to)
    except WorkflowError as exc:
        raise CaseError(str(exc)) from None
    if beyond_intake(to):
        require_services_consent(case)
    with saving(case):
        _status(user, case, to, None, Action.CASE_STATUS)


def request_closure(user: User, case: Case, reason: str, detail: str | None, version: Any) -> None:
    """Ask a supervisor to close the case."""
    check_version(case, version)
    _known_reason(reason, CLOSURE_REASONS)
    if case.status in ("closure_requested", "closed"):
        raise CaseError(str(_l("Closure has already been requested or the case is closed.")))
    with saving(case):
        _status(user, case, "closure_requested", reason, Action.CASE_CLOSURE_REQUEST, detail)


def last_change(case: Case, to_status: str) -> StatusChange | None:
    """The latest move of the case into ``to_status``."""
    found: StatusChange | None = db.session.execute(
        select(StatusChange).where(StatusChange.case_id == case.id,
                                   StatusChange.to_status == to_status)
        .order_by(StatusChange.at.desc())
    ).scalars().first()
    return found


def decide_closure(user: User, case: Case, approve: bool, version: Any) -> None:
    """A supervisor approves or sends back a closure request (never their own request)."""
    check_version(case, version)
    if not has_permission(user.role, Permission.CASE_APPROVE):
        raise CaseError(str(_l("Only a supervisor can decide on closure.")))
    if case.status != "closure_requested":
        raise CaseError(str(_l("There is no closure request to decide on.")))
    request = last_change(case, "closure_requested")
    if request is not None and request.by_id == user.id:
        raise CaseError(str(_l("You cannot approve your own closure request.")))
    with saving(case):
        if approve:
            _status(user, case, "closed", request.reason if request else None,
                    Action.CASE_CLOSURE_APPROVE)
        else:
            back = request.from_status if request else "follow_up"
            _status(user, case, back, "sent_back", Action.CASE_CLOSURE_REJECT)


def reopen(user: User, case: Case, reason: str, detail: str | None, version: Any) -> None:
    """Reopen a closed case into assessment, with a reason."""
    check_version(case, version)
    _known_reason(reason, REOPEN_REASONS)
    if case.status != "closed":
        raise CaseError(str(_l("Only a closed case can be reopened.")))
    with saving(case):
        case.closed_at = None
        _status(user, case, "assessment", reason, Action.CASE_REOPEN, detail)


def approve_plan(user: User, case: Case, version: Any) -> None:
    """A supervisor approves the action plan."""
    check_version(case, version)
    with saving(case):
        case.plan_approved_at = utcnow()
        case.plan_approved_by_id = user.id
        record(Action.CASE_PLAN_APPROVE, object_type=ObjectType.CASE, object_id=case.id)


def assign(user: User, case: Case, primary: User, secondary: User | None, version: Any) -> None:
    """A supervisor assigns or reassigns the case's caseworkers (same organisation and site)."""
    check_version(case, version)
    for worker in filter(None, (primary, secondary)):
        if (worker.organisation_id != case.organisation_id or not worker.can_sign_in
                or not has_permission(worker.role, Permission.CASE_EDIT)
                or case.site_id not in {s.id for s in worker.sites}):
            raise CaseError(str(_l("Choose active caseworkers of this case's site.")))
    if secondary is not None and secondary.id == primary.id:
        secondary = None
    with saving(case):
        case.primary_worker_id = primary.id
        case.secondary_worker_id = secondary.id if secondary else None
        case.updated_at = utcnow()
        record(Action.CASE_ASSIGN, object_type=ObjectType.CASE, object_id=case.id)


def break_glass(user: User, case_number: str, reason_code: str | None,
                text: str | None, once: Submission | None = None) -> Case:
    """Grant a supervisor time-limited read-only access to a case of their organisation.

    The reason is a code from ``justifications.BREAK_GLASS_REASONS`` with optional text
    (required with ``other``); the trail gets only the code and the text's length, the text is
    sealed with the grant under the case's key. Text naming the survivor is refused
    (``JustificationError``, audited, nothing saved). The grant expires after
    ``BREAK_GLASS_MINUTES`` (default 60). ``once``, the form's one-time token, is claimed
    with the grant.
    """
    if not has_permission(user.role, Permission.CASE_BREAK_GLASS):
        raise CaseError(str(_l("Only supervisors can use break-glass access.")))
    why = justifications.parse(justifications.BREAK_GLASS_REASONS, reason_code, text)
    case = db.session.execute(
        select(Case).where(Case.case_number == case_number.strip().upper(),
                           Case.organisation_id == user.organisation_id)
    ).scalar_one_or_none()
    if case is None:
        with transaction():
            record(Action.BREAK_GLASS_OPEN, object_type=ObjectType.CASE_NUMBER, outcome=Outcome.DENIED,
                   reason="no_such_case_in_organisation")
        raise CaseError(str(_l("No case with that number in your organisation.")))
    justifications.check(Action.BREAK_GLASS_OPEN, case, why)
    minutes = int(current_app.config.get("BREAK_GLASS_MINUTES", 60))
    with transaction():
        now = utcnow()
        grant = BreakGlassGrant(data_key=case.data_key, case_id=case.id, supervisor_id=user.id,
                                opened_at=now, expires_at=now + timedelta(minutes=minutes),
                                reason_code=why.code)
        grant.justification = why.text  # type: ignore[assignment]
        db.session.add(grant)
        record(Action.BREAK_GLASS_OPEN, object_type=ObjectType.CASE, object_id=case.id,
               reason=why.audit_reason())
        claim(once, ObjectType.BREAK_GLASS, grant.id)
    return case


def erase(user: User | None, case: Case, reason: str) -> None:
    """Erase a case for ever (crypto-shredding); a tombstone keeps number, who, when and why."""
    _known_reason(reason, ERASE_REASONS)
    with saving(case):
        number, case_id = case.case_number, case.id
        from app.referrals.service import shred_all

        shred_all(case)
        sealing.shred_case(case, reason)
        db.session.add(CaseTombstone(case_number=number, erased_by_id=user.id if user else None,
                                     erased_at=utcnow(), reason=reason))
        db.session.execute(delete(BreakGlassGrant).where(BreakGlassGrant.case_id == case_id))
        db.session.delete(case)
        record(Action.CASE_ERASE, object_type=ObjectType.CASE, object_id=case_id, reason=f"{reason}:{number}")
