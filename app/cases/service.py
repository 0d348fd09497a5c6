"""Writes of the case area, each one audited in its own transaction: opening a case, consent,
workflow, assignment, closure, break-glass and erasure. Views only call these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases import gbvims, history, justifications, notices, sealing, transfer_requests
from app.cases.consent import require_services_consent
from app.cases.models import BreakGlassGrant, Case, CaseTombstone, StatusChange
from app.cases.numbering import next_case_number
from app.cases.rules import ensure_writable
from app.cases.workflow import (
    CLOSURE_REASONS,
    REOPEN_REASONS,
    CaseStatus,
    WorkflowError,
    beyond_intake,
    check_move,
)
from app.clock import utcnow
from app.core import hooks
from app.core.errors import CaseError, StaleError
from app.core.text import TEXT_MAX
from app.core.versioning import check_version, saving
from app.db import db, transaction
from app.directory.models import Site
from app.localtime import organisation_zone, today
from app.notifications.kinds import Kind
from app.submissions.service import Submission, claim

IDENTITY_FIELDS = ("full_name", "alias", "date_of_birth", "estimated_age", "phone", "location",
                   "safe_contact")
CATEGORY_FIELDS = ("sex", "nationality_group", "displacement_status", "disability")
# Why a case is erased (codes: they go to the tombstone and the audit trail).
ERASE_REASONS = ("survivor_request", "recorded_in_error", "retention_expired")


@dataclass(frozen=True)
class IdentityInput:
    """Who the survivor is, as intake or an identity edit states it (sealed fields first, then
    the clear categories statistics read; an unstated category is ``unknown``)."""

    full_name: str | None = None
    alias: str | None = None
    date_of_birth: date | None = None
    estimated_age: int | None = None
    phone: str | None = None
    location: str | None = None
    safe_contact: str | None = None
    sex: str | None = None
    nationality_group: str | None = None
    displacement_status: str | None = None
    disability: str | None = None

    def age(self, on: date) -> int | None:
        """Age on ``on`` (today in the case's zone) from the date of birth, else the
        estimated age."""
        dob = self.date_of_birth
        if dob:
            return int(on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day)))
        return int(self.estimated_age) if self.estimated_age is not None else None

    @classmethod
    def of(cls, form: Any) -> IdentityInput:
        """The survivor as a validated intake or identity form states them (the online intake,
        the identity edit and the field intake's person form)."""
        return cls(full_name=form.full_name.data, alias=form.alias.data,
                   date_of_birth=form.date_of_birth.data, estimated_age=form.estimated_age.data,
                   phone=form.phone.data, location=form.location.data,
                   safe_contact=form.safe_contact.data, sex=form.sex.data,
                   nationality_group=form.nationality_group.data,
                   displacement_status=form.displacement_status.data,
                   disability=form.disability.data)


def _set_identity(case: Case, person: IdentityInput) -> None:
    """Write ``person`` onto the case: categories and derived age group clear, identity sealed."""
    age = person.age(today(organisation_zone(case.organisation_id)))
    for f in CATEGORY_FIELDS:
        setattr(case, f, getattr(person, f) or "unknown")
    case.age_group = gbvims.age_group(age)
    case.is_child = age is not None and age < 18
    for name in IDENTITY_FIELDS:
        setattr(case, name, sealing.clean(getattr(person, name)))


def open_case(user: User, site: Site, person: IdentityInput,
              once: Submission | None = None, *,
              field_captured_at: datetime | None = None) -> Case:
    """Open a case at one of the user's sites with its own data key (audited). ``once``, the
    intake form's one-time token, is claimed with it (``AlreadySaved`` if it already was).
    ``field_captured_at``: when the case comes from a field intake, the time it was captured
    on the device (``app.field.review``)."""
    if site.id not in {s.id for s in user.sites} or site.organisation_id != user.organisation_id:
        raise CaseError(str(_l("You can only open cases at your own sites.")))
    # The day the case opened in its organisation's zone (a case opened at 23:30 UTC is opened
    # on the next day in Tripoli); its number counts in that day's year.
    opened_on = today(organisation_zone(user.organisation_id))
    with transaction():
        case = Case(organisation_id=user.organisation_id, site_id=site.id,
                    primary_worker_id=user.id, opened_on=opened_on, status=CaseStatus.OPEN,
                    case_number=next_case_number(site, opened_on.year),
                    field_captured_at=field_captured_at)
        _set_identity(case, person)
        db.session.add(case)
        db.session.flush()
        record(Action.CASE_CREATE, object_type=ObjectType.CASE, object_id=case.id)
        claim(once, ObjectType.CASE, case.id)
    return case


def update_identity(user: User, case: Case, person: IdentityInput, version: Any) -> None:
    """Change a case's identity and categories (optimistic lock; audited)."""
    ensure_writable(case)
    check_version(case, version, StaleError)
    with history.changed_by(user), saving(case, StaleError):
        _set_identity(case, person)
        case.updated_at = utcnow()
        record(Action.CASE_UPDATE, object_type=ObjectType.CASE, object_id=case.id, reason="identity")


# --- Workflow -----------------------------------------------------------------------------

#: The reason code of a closure sent back (its text is the step's sealed ``reason_detail``).
SENT_BACK = "sent_back"


class SendBackError(CaseError):
    """A closure sent back without a (usable) reason; the message belongs beside the field."""


def _status(user: User, case: Case, to: str, reason: str | None, action: Action,
            detail: str | None = None) -> None:
    change = StatusChange(case_id=case.id, from_status=case.status, to_status=to, reason=reason,
                          by_id=user.id, at=utcnow(), data_key=case.data_key)
    change.reason_detail = sealing.clean(detail)
    db.session.add(change)
    case.status = to
    case.updated_at = utcnow()
    if to == CaseStatus.CLOSED:
        case.closed_at = utcnow()
    record(action, object_type=ObjectType.CASE, object_id=case.id, reason=f"{reason or to}")


def _known_reason(reason: str, known: Mapping[str, Any] | tuple[str, ...]) -> None:
    """Reasons reach the audit trail: only codes from the list, never typed text."""
    if reason not in known:
        raise CaseError(str(_l("Choose a reason from the list.")))


def change_status(user: User, case: Case, to: str, version: Any) -> None:
    """Move a case one stage forward or back (consent for services needed past intake)."""
    ensure_writable(case)
    check_version(case, version, StaleError)
    try:
        check_move(case.status, to)
    except WorkflowError as exc:
        raise CaseError(str(exc)) from None
    if beyond_intake(to):
        require_services_consent(case)
    with history.changed_by(user), saving(case, StaleError):
        _status(user, case, to, None, Action.CASE_STATUS)


def request_closure(user: User, case: Case, reason: str, detail: str | None, version: Any) -> None:
    """Ask a supervisor to close the case."""
    ensure_writable(case)
    check_version(case, version, StaleError)
    _known_reason(reason, CLOSURE_REASONS)
    if case.status in (CaseStatus.CLOSURE_REQUESTED, CaseStatus.CLOSED):
        raise CaseError(str(_l("Closure has already been requested or the case is closed.")))
    with history.changed_by(user), saving(case, StaleError):
        _status(user, case, CaseStatus.CLOSURE_REQUESTED, reason, Action.CASE_CLOSURE_REQUEST, detail)


def last_change(case: Case, to_status: str) -> StatusChange | None:
    """The latest move of the case into ``to_status``."""
    found: StatusChange | None = db.session.execute(
        select(StatusChange).where(StatusChange.case_id == case.id,
                                   StatusChange.to_status == to_status)
        .order_by(StatusChange.at.desc())
    ).scalars().first()
    return found


def decide_closure(user: User, case: Case, approve: bool, version: Any,
                   reason: str | None = None) -> None:
    """A supervisor approves or sends back a closure request (never their own request).

    Sending back needs ``reason``, free text sealed under the case's key on the step back
    (``StatusChange.reason_detail``) and shown to the caseworker on the case; the trail gets
    only the code ``sent_back`` (``SendBackError`` when missing or too long, nothing saved).
    """
    ensure_writable(case)
    check_version(case, version, StaleError)
    if not can(user, Permission.CASE_APPROVE):
        raise CaseError(str(_l("Only a supervisor can decide on closure.")))
    if case.status != CaseStatus.CLOSURE_REQUESTED:
        raise CaseError(str(_l("There is no closure request to decide on.")))
    request = last_change(case, CaseStatus.CLOSURE_REQUESTED)
    if request is not None and request.by_id == user.id:
        raise CaseError(str(_l("You cannot approve your own closure request.")))
    why = None if approve else send_back_reason(reason)
    with history.changed_by(user), saving(case, StaleError):
        if approve:
            _status(user, case, CaseStatus.CLOSED, request.reason if request else None,
                    Action.CASE_CLOSURE_APPROVE)
        else:
            back = request.from_status if request else CaseStatus.FOLLOW_UP
            _status(user, case, back, SENT_BACK, Action.CASE_CLOSURE_REJECT, why)
        notices.tell_workers(case, Kind.CLOSURE_APPROVED if approve else Kind.CLOSURE_SENT_BACK,
                             user)


def send_back_reason(reason: str | None) -> str:
    """The reason for sending a closure back, checked: required, at most ``TEXT_MAX``."""
    text = (reason or "").strip()
    if not text:
        raise SendBackError(str(_l("Give the reason for sending the closure back: the "
                                   "caseworker will see it on the case.")))
    if len(text) > TEXT_MAX:
        raise SendBackError(str(_l("The reason is too long: at most %(n)d characters.",
                                   n=TEXT_MAX)))
    return text


def reopen(user: User, case: Case, reason: str, detail: str | None, version: Any) -> None:
    """Reopen a closed case into assessment, with a reason."""
    check_version(case, version, StaleError)
    _known_reason(reason, REOPEN_REASONS)
    if case.status != CaseStatus.CLOSED:
        raise CaseError(str(_l("Only a closed case can be reopened.")))
    with history.changed_by(user), saving(case, StaleError):
        case.closed_at = None
        _status(user, case, CaseStatus.ASSESSMENT, reason, Action.CASE_REOPEN, detail)


def approve_plan(user: User, case: Case, version: Any) -> None:
    """A supervisor approves the action plan."""
    ensure_writable(case)
    check_version(case, version, StaleError)
    with history.changed_by(user), saving(case, StaleError):
        case.plan_approved_at = utcnow()
        case.plan_approved_by_id = user.id
        record(Action.CASE_PLAN_APPROVE, object_type=ObjectType.CASE, object_id=case.id)
        notices.tell_workers(case, Kind.PLAN_APPROVED, user)


class AssignError(CaseError):
    """An assignment refused; ``field`` names the form field the message belongs beside."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def assign(user: User, case: Case, primary: User, secondary: User | None, version: Any,
           keep_previous: bool | None = False) -> None:
    """A supervisor assigns or reassigns the case's caseworkers (same organisation and site).

    When the primary caseworker changes, ``keep_previous`` says whether the previous one stays
    on the case as secondary; the assignment form passes None when the question was left
    unanswered, which is refused (``AssignError`` on ``keep_previous``). Kept, they
    replace any secondary chosen; not kept, they lose the case at once (scope, lists, search,
    home panels) and their notifications about it. Workers newly on the case are told; those
    taken off it lose their notifications about it (``notices.left``)."""
    ensure_writable(case)
    check_version(case, version, StaleError)
    previous = case.primary_worker_id
    if previous is not None and previous != primary.id:
        if keep_previous is None:
            raise AssignError(str(_l("Say whether the previous primary caseworker stays on the "
                                     "case as secondary.")), "keep_previous")
        if keep_previous:
            if secondary is not None and secondary.id != previous:
                raise AssignError(str(_l("The previous caseworker becomes the secondary one: "
                                         "leave the secondary caseworker empty, or answer "
                                         "No.")), "secondary")
            secondary = db.session.get(User, previous)
    for worker in filter(None, (primary, secondary)):
        if (worker.organisation_id != case.organisation_id or not worker.can_sign_in
                or not can(worker, Permission.CASE_EDIT)
                or case.site_id not in {s.id for s in worker.sites}):
            raise CaseError(str(_l("Choose active caseworkers of this case's site.")))
    if secondary is not None and secondary.id == primary.id:
        secondary = None
    before = set(notices.workers(case))
    with history.changed_by(user), saving(case, StaleError):
        case.primary_worker_id = primary.id
        case.secondary_worker_id = secondary.id if secondary else None
        case.updated_at = utcnow()
        record(Action.CASE_ASSIGN, object_type=ObjectType.CASE, object_id=case.id,
               reason="kept_as_secondary" if keep_previous and previous != primary.id else None)
        after = set(notices.workers(case))
        notices.tell_workers(case, Kind.CASE_ASSIGNED, user, users=after - before)
        notices.left(case, before - after)


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
    if not can(user, Permission.CASE_BREAK_GLASS):
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
        grant.justification = why.text
        db.session.add(grant)
        record(Action.BREAK_GLASS_OPEN, object_type=ObjectType.CASE, object_id=case.id,
               reason=why.audit_reason())
        claim(once, ObjectType.BREAK_GLASS, grant.id)
    return case


def erase(user: User | None, case: Case, reason: str) -> None:
    """Erase a case for ever (crypto-shredding); a tombstone keeps number, who, when and why."""
    _known_reason(reason, ERASE_REASONS)
    with history.changed_by(user), saving(case, StaleError):
        erase_now(user, case, reason)


def erase_now(user: User | None, case: Case, reason: str,
              keep: Callable[[CaseTombstone], None] | None = None) -> CaseTombstone:
    """The erasure itself, in the caller's transaction: ``erase``, and the acceptance of a
    transfer to another organisation (reason ``transferred``, ``app.cases.transfer``), which
    erases the sender's case once its copy exists. A pending transfer request is cancelled,
    other features destroy their shares (``hooks.case_erased``), notifications go, the case's
    key and index entries are destroyed, and the case's rows are deleted. ``keep`` is called
    with the tombstone before the rows go (a transfer keeps the referral trail there)."""
    number, case_id = case.case_number, case.id
    transfer_requests.cancel_pending(case, user, reason=transfer_requests.CancelReason.CASE_ERASED)
    hooks.case_erased.emit(case=case)  # referrals destroy their shares of the case
    notices.erased(case_id)  # and nobody is told of it any more
    sealing.shred_case(case, reason)
    tombstone = CaseTombstone(case_number=number, erased_by_id=user.id if user else None,
                              erased_at=utcnow(), reason=reason)
    db.session.add(tombstone)
    db.session.flush()
    if keep is not None:
        keep(tombstone)
    db.session.execute(delete(BreakGlassGrant).where(BreakGlassGrant.case_id == case_id))
    db.session.delete(case)
    record(Action.CASE_ERASE, object_type=ObjectType.CASE, object_id=case_id, reason=f"{reason}:{number}")
    return tombstone
