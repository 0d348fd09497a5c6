"""Pending field intakes: the caseworker's list, and turning one into a case.

``pending(user)`` lists the intakes waiting for the user's review (``loaders.own``: those
handed to them, and those they captured and still hold) for a decision from clear columns only
(nothing is opened): urgent clinical ones first (urgent, with the 72-hour window still open,
soonest end first), then the other urgent ones, then the rest, oldest capture first.

An intake becomes a new case (``open_case``), is added to an existing case the user may edit
(``merge``) or is discarded (``discard``). Each is one transaction (``one_transaction``): the
intake is claimed by a conditional update on its status first, so two tabs (or two hosts)
posting the same decision make one case and the loser changes nothing; the case, its consents
(recorded at the capture time) and the incident are written through the cases' own services;
then the intake is marked decided, its payload dropped and its data key shredded, so what was
captured on the device is now only in the case. Events name the intake and codes, never a
field's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, select, update

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.cases import history, records, sealing, service
from app.cases.consent import ConsentKind
from app.cases.consent import record_consent as record_one
from app.cases.models import Case
from app.cases.rules import ensure_writable
from app.clock import utcnow
from app.core.errors import CaseError
from app.crypto.envelope import shred
from app.db import db, one_transaction
from app.directory.models import Site
from app.field import payload
from app.field.forms import FieldConsentForm, FieldIntakeForms
from app.field.loaders import own, pending_of
from app.field.loaders import waiting as waiting  # the count, kept here for its callers
from app.field.models import FieldIntake, IntakeStatus
from app.submissions.service import Submission

#: Why an intake is discarded (codes: they go to the audit trail).
DISCARD_REASONS = {
    "recorded_in_error": _l("Recorded in error"),
    "duplicate_of_existing": _l("Duplicate of an existing case"),
    "test": _l("A test, not a real intake"),
}


#: The reason of the shredding of an intake's key, by its decision (audit codes).
SHRED_REASONS = {IntakeStatus.OPENED: "field_intake_opened",
                 IntakeStatus.MERGED: "field_intake_merged",
                 IntakeStatus.DISCARDED: "field_intake_discarded"}


class ReviewError(CaseError):
    """A decision refused; nothing was changed (the message is the user's to read)."""


class AlreadyDecided(ReviewError):
    """The intake was decided by another request first (another tab, a retry)."""

    def __init__(self) -> None:
        super().__init__(str(_l("This field intake has already been dealt with: nothing was "
                                "changed.")))


class NotValid(ReviewError):
    """The intake's fields fail the online forms' rules: correct them first."""

    def __init__(self) -> None:
        super().__init__(str(_l("Some answers of this field intake need correcting before "
                                "it can be added to a case: see the messages beside them.")))


@dataclass(frozen=True)
class PendingIntake:
    """One line of the pending list: clear columns only, and the clinical window's state."""

    id: Any
    captured_at: datetime
    urgent: bool
    window_ends_at: datetime | None
    hours_left: int | None  # whole hours left in the clinical window (None: none, or passed)

    @property
    def window_passed(self) -> bool:
        """Whether the intake records a rape whose 72-hour window has already closed."""
        return self.window_ends_at is not None and self.hours_left is None


def pending(user: User) -> list[PendingIntake]:
    """The user's pending intakes in the order they need attention (one statement)."""
    now = utcnow()
    clinical = and_(FieldIntake.urgent.is_(True), FieldIntake.window_ends_at > now)
    rows = db.session.execute(
        select(FieldIntake.id, FieldIntake.captured_at, FieldIntake.urgent,
               FieldIntake.window_ends_at)
        .where(pending_of(user))
        .order_by(case((clinical, 0), (FieldIntake.urgent.is_(True), 1), else_=2),
                  case((clinical, FieldIntake.window_ends_at), else_=None),
                  FieldIntake.captured_at, FieldIntake.id)).all()
    return [PendingIntake(r.id, r.captured_at, bool(r.urgent), r.window_ends_at,
                          _hours_left(r.window_ends_at, now)) for r in rows]


def _hours_left(ends: datetime | None, now: datetime) -> int | None:
    """Whole hours left until ``ends``, as the home page counts them (None once passed)."""
    if ends is None or ends <= now:
        return None
    return int((ends - now).total_seconds() // 3600)


# --- Decisions ---------------------------------------------------------------------------------

def _checked(intake: FieldIntake, forms: FieldIntakeForms | None) -> FieldIntakeForms:
    """The forms to act on (as opened, or as corrected by the reviewer), refused unless valid."""
    if intake.status != IntakeStatus.PENDING:
        raise AlreadyDecided()
    forms = forms if forms is not None else payload.read(intake)
    if not forms.validate():
        raise NotValid()
    return forms


def _claim(user: User, intake: FieldIntake, status: str) -> None:
    """Take the intake for this decision: a conditional update on its status, first in the
    transaction, so one request wins and any other finds it decided (``AlreadyDecided``)."""
    done = db.session.execute(
        update(FieldIntake).where(FieldIntake.id == intake.id, own(user),
                                  FieldIntake.status == IntakeStatus.PENDING)
        .values(status=status).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        raise AlreadyDecided()


def _decided(user: User, intake: FieldIntake, status: str, case_: Case | None) -> None:
    """Mark the intake decided, drop its payload and shred its data key (same transaction)."""
    intake.status = status
    intake.case_id = case_.id if case_ is not None else None
    intake.decided_at = utcnow()
    intake.decided_by_id = user.id
    intake.payload = None
    db.session.flush()
    shred(intake.data_key, object_type=ObjectType.FIELD_INTAKE, object_id=intake.id,
          reason=SHRED_REASONS[status])


def _consents(user: User, case_: Case, intake: FieldIntake, form: FieldConsentForm) -> None:
    """The consent decisions of first contact, recorded at the capture time: services,
    statistics, and sharing per type of service answered."""
    assent = {"yes": True, "no": False}.get(form.child_assent.data or "")

    def one(kind: str, granted: bool) -> None:
        record_one(user, case_, kind=kind, granted=granted, given_by=form.given_by.data or "",
                   method=form.method.data or "", child_assent=assent,
                   caregiver_not_asked_reason=form.caregiver_not_asked_reason.data or None,
                   recorded_at=intake.captured_at)

    one(ConsentKind.SERVICES, form.services.data == "yes")
    one(ConsentKind.REPORTING, form.reporting.data == "yes")
    for service_type, granted in sorted(form.shares().items()):
        one(f"{ConsentKind.SHARE}:{service_type}", granted)


def open_case(user: User, intake: FieldIntake, site: Site, once: Submission | None = None, *,
              forms: FieldIntakeForms | None = None) -> Case:
    """A new case from the intake at one of the user's sites (``forms``: the fields as the
    reviewer corrected them; else as captured): identity, consents, incident, the capture
    time kept, all in one transaction; then the intake's payload is shredded."""
    forms = _checked(intake, forms)
    with one_transaction(), history.changed_by(user):
        _claim(user, intake, IntakeStatus.OPENED)
        made = service.open_case(user, site, service.IdentityInput.of(forms.person), once,
                                 field_captured_at=intake.captured_at)
        _consents(user, made, intake, forms.consent)
        records.save_incident(user, made, records.IncidentInput.of(forms.incident))
        record(Action.FIELD_INTAKE_OPEN_CASE, object_type=ObjectType.FIELD_INTAKE,
               object_id=intake.id)
        _decided(user, intake, IntakeStatus.OPENED, made)
    return made


def merge(user: User, intake: FieldIntake, case_: Case, *,
          forms: FieldIntakeForms | None = None) -> Case:
    """Add the intake's consents and incident to ``case_`` (loaded through the user's write
    scope by the caller) and return it. The case's identity stays; identity values the intake
    states differently go into a sealed case note for the caseworker to check. Refused on a
    closed case. One transaction; then the intake's payload is shredded."""
    forms = _checked(intake, forms)
    ensure_writable(case_)
    person = service.IdentityInput.of(forms.person)
    with one_transaction(), history.changed_by(user):
        _claim(user, intake, IntakeStatus.MERGED)
        _consents(user, case_, intake, forms.consent)
        records.save_incident(user, case_, records.IncidentInput.of(forms.incident))
        differing = identity_differences(case_, person, forms)
        if differing:
            records.add_note(user, case_, differences_note(intake, differing))
        record(Action.FIELD_INTAKE_MERGE, object_type=ObjectType.FIELD_INTAKE,
               object_id=intake.id, reason=f"differences:{len(differing)}")
        _decided(user, intake, IntakeStatus.MERGED, case_)
    return case_


def discard(user: User, intake: FieldIntake, reason: str) -> None:
    """Discard the intake (a reason code from ``DISCARD_REASONS``); nothing of it is kept."""
    if reason not in DISCARD_REASONS:
        raise ReviewError(str(_l("Choose a reason from the list.")))
    if intake.status != IntakeStatus.PENDING:
        raise AlreadyDecided()
    with one_transaction():
        _claim(user, intake, IntakeStatus.DISCARDED)
        record(Action.FIELD_INTAKE_DISCARD, object_type=ObjectType.FIELD_INTAKE,
               object_id=intake.id, reason=reason)
        _decided(user, intake, IntakeStatus.DISCARDED, None)


# --- Identity differences on a merge -------------------------------------------------------

def _shown(value: Any, choices: Sequence[tuple[Any, Any]] | None) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if choices is not None:
        return str(dict(choices).get(value, value))
    return str(value)


def identity_differences(case_: Case, person: service.IdentityInput,
                         forms: FieldIntakeForms) -> list[tuple[str, str]]:
    """(label, intake's value) for each identity field or category the intake states and the
    case records otherwise (an empty or ``unknown`` answer of the intake says nothing)."""
    out = []
    for name in (*service.IDENTITY_FIELDS, *service.CATEGORY_FIELDS):
        given = getattr(person, name)
        if name in service.IDENTITY_FIELDS and isinstance(given, str):
            given = sealing.clean(given)
        if given in (None, "", "unknown"):
            continue
        if given != getattr(case_, name):
            form_field = forms.person[name]
            out.append((str(form_field.label.text),
                        _shown(given, getattr(form_field, "choices", None))))
    return out


def differences_note(intake: FieldIntake, differing: list[tuple[str, str]]) -> str:
    """The sealed note's text: what the field intake stated that differs from the case."""
    lines = [_("Field intake captured on %(when)s added to this case. It stated these "
               "identity details differently; the case's were kept:",
               when=intake.captured_at.strftime("%Y-%m-%d %H:%M UTC"))]
    lines += [f"- {label}: {value}" for label, value in differing]
    return "\n".join(lines)
