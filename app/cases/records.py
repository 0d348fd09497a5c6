"""Writes inside a case: incidents, assessment and safety plan, action plan, follow-ups, notes.
Each is audited, refused on a closed case or without consent for services, and sealed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, tzinfo
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.cases import gbvims, history, sealing
from app.cases.consent import require_services_consent
from app.cases.models import (
    ActionItem,
    Assessment,
    Case,
    CaseNote,
    FollowUp,
    Incident,
    IncidentPerpetrator,
)
from app.cases.rules import ensure_writable
from app.clock import utcnow
from app.core.errors import CaseError, StaleError
from app.core.versioning import check_version, saving
from app.db import db
from app.localtime import organisation_zone, today
from app.submissions.service import Submission, claim


def touch(case: Case) -> None:
    """Move the case's "last change" for a record added or changed under it.

    A plain UPDATE of that one clear column, outside the case's version: a note, incident, goal
    or visit does not change the case itself, so it must not collide with a colleague saving
    the case's identity at the same moment (the typed note would be lost), nor re-seal the
    case's identity under a new version. The case's own saves still check its version.
    """
    now = utcnow()
    db.session.execute(update(Case).where(Case.id == case.id).values(updated_at=now)
                       .execution_options(synchronize_session=False))
    set_committed_value(case, "updated_at", now)


def writable(case: Case) -> None:
    """Refuse changes to a closed case (read-only until reopened) or without consent."""
    ensure_writable(case)
    require_services_consent(case)


@dataclass(frozen=True)
class PerpetratorInput:
    """One perpetrator as GBVIMS records them (codes of ``app.cases.gbvims``)."""

    sex: str
    age_group: str
    relationship: str
    occupation: str


@dataclass(frozen=True)
class IncidentInput:
    """An incident as the worker records it. ``answers``: each GBVIMS classification question
    (by key, in ``gbvims.CLASSIFICATION``) answered yes (True) or no (False); all six must be
    answered, and the core type is derived from them. ``perpetrators``: one to three
    (``perpetrator_count`` is the GBVIMS band and must agree). ``survivor_age_at_incident``
    is None only with ``age_unknown``. The facts (``exchange``, ``abducted``,
    ``harmful_practice`` and which practice) are stored; the contexts are derived from them."""

    incident_date: date
    reported_date: date
    answers: Mapping[str, bool] = field(default_factory=dict)
    date_is_approximate: bool = False
    location_type: str | None = None
    perpetrator_count: str | None = None
    perpetrators: Sequence[PerpetratorInput] = ()
    time_of_day: str | None = None
    incident_time: time | None = None
    displacement_stage: str | None = None
    survivor_age_at_incident: int | None = None
    age_unknown: bool = False
    exchange: bool = False
    abducted: bool = False
    harmful_practice: bool = False
    harmful_practice_type: str | None = None
    narrative: str | None = None
    perpetrator_details: str | None = None
    location_detail: str | None = None

    @classmethod
    def of(cls, form: Any) -> IncidentInput:
        """The incident as a validated incident form states it (the classification answers as
        booleans): the case page's form and the field intake's."""
        return cls(
            incident_date=form.incident_date.data, reported_date=form.reported_date.data,
            answers=form.answers(), date_is_approximate=bool(form.date_is_approximate.data),
            location_type=form.location_type.data,
            perpetrator_count=form.perpetrator_count.data,
            perpetrators=tuple(PerpetratorInput(**row) for row in form.perpetrator_rows()),
            time_of_day=form.time_of_day.data, displacement_stage=form.displacement_stage.data,
            incident_time=form.incident_time.data,
            survivor_age_at_incident=form.survivor_age_at_incident.data,
            age_unknown=bool(form.age_unknown.data),
            exchange=form.exchange.data == "yes", abducted=form.abducted.data == "yes",
            harmful_practice=form.harmful_practice.data == "yes",
            harmful_practice_type=form.harmful_practice_type.data or None,
            narrative=form.narrative.data, perpetrator_details=form.perpetrator_details.data,
            location_detail=form.location_detail.data)


class IncidentError(CaseError):
    """An incident refused as recorded; ``field`` names the form field the message belongs
    beside (``perpetrators-2-relationship`` for the third perpetrator's relationship)."""

    def __init__(self, field_name: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field_name


@dataclass(frozen=True)
class AssessmentInput:
    """The assessment and safety plan of a case."""

    risk_level: str | None = None
    needs: Sequence[str] = ()
    notes: str | None = None
    safety_plan: str | None = None


@dataclass(frozen=True)
class GoalInput:
    """A goal of the action plan."""

    service_type: str
    due_on: date
    status: str | None = None
    goal: str | None = None


@dataclass(frozen=True)
class FollowUpInput:
    """A planned (or already made) follow-up visit."""

    due_on: date
    done_on: date | None = None
    notes: str | None = None


class IncidentInFuture(IncidentError):
    """The incident's date and time are after now in the organisation's zone."""

    def __init__(self, field_name: str) -> None:
        super().__init__(field_name, _l("The incident cannot be in the future."))


REQUIRED = _l("Answer this question.")


def _code(value: str | None, allowed: Sequence[str], field_name: str) -> str:
    """``value`` when it is one of the ``allowed`` codes, else a refusal beside the field."""
    if not value:
        raise IncidentError(field_name, REQUIRED)
    if value not in allowed:
        raise IncidentError(field_name, _l("Choose one of the answers offered."))
    return value


def _check_incident(case: Case, what: IncidentInput) -> None:
    """Every rule of a recorded incident; the first broken one is refused beside its field."""
    for q in gbvims.CLASSIFICATION:
        if q.key not in what.answers:
            raise IncidentError(q.key, REQUIRED)
    _code(what.location_type, gbvims.LOCATION_TYPES, "location_type")
    _code(what.time_of_day, gbvims.TIMES_OF_DAY, "time_of_day")
    _code(what.displacement_stage, gbvims.DISPLACEMENT_STAGES, "displacement_stage")
    count = _code(what.perpetrator_count, gbvims.PERPETRATOR_COUNTS, "perpetrator_count")
    if len(what.perpetrators) > gbvims.MAX_PERPETRATORS:
        raise IncidentError("perpetrator_count", _l(
            "At most three perpetrators are recorded; with more, choose “More than 3” as the "
            "number and record three of them."))
    if not what.perpetrators:
        raise IncidentError("perpetrators-0-relationship", _l(
            "Record at least the first perpetrator (“Unknown” is an answer)."))
    for n, p in enumerate(what.perpetrators):
        _code(p.sex, gbvims.PERPETRATOR_SEXES, f"perpetrators-{n}-sex")
        _code(p.age_group, gbvims.AGE_GROUPS, f"perpetrators-{n}-age_group")
        _code(p.relationship, gbvims.RELATIONSHIPS, f"perpetrators-{n}-relationship")
        _code(p.occupation, gbvims.OCCUPATIONS, f"perpetrators-{n}-occupation")
    if not gbvims.perpetrators_fit_count(count, len(what.perpetrators)):
        raise IncidentError("perpetrator_count", _l(
            "The number of perpetrators does not match the perpetrators recorded below."))
    if what.harmful_practice:
        _code(what.harmful_practice_type, gbvims.HARMFUL_PRACTICES, "harmful_practice_type")
    elif what.harmful_practice_type:
        raise IncidentError("harmful_practice_type", _l(
            "Say that the act was a harmful traditional practice, or leave this empty."))
    _check_age(case, what)


def _check_age(case: Case, what: IncidentInput) -> None:
    """The age at the incident is given or explicitly unknown, and agrees with the survivor's
    date of birth (the sealed value is read here only, never logged or put in the message)."""
    age = what.survivor_age_at_incident
    if age is None:
        if not what.age_unknown:
            raise IncidentError("survivor_age_at_incident", _l(
                "Give the survivor's age at the incident, or mark it as unknown."))
        return
    if what.age_unknown:
        raise IncidentError("survivor_age_at_incident", _l(
            "Either give the age or mark it as unknown, not both."))
    if not 0 <= age <= 120:
        raise IncidentError("survivor_age_at_incident", _l("Give an age between 0 and 120."))
    born = gbvims.age_on(what.incident_date, date_of_birth=case.date_of_birth)
    if case.date_of_birth is not None and (
            born is None or abs(age - born) > gbvims.AGE_TOLERANCE_YEARS):
        raise IncidentError("survivor_age_at_incident", _l(
            "This age contradicts the survivor's date of birth by more than a year: check the "
            "age and the date of the incident."))


def _classify(what: IncidentInput, zone: tzinfo) -> dict[str, Any]:
    answers = {q.key: bool(what.answers.get(q.key)) for q in gbvims.CLASSIFICATION}
    core = gbvims.classify(answers)
    contexts = gbvims.contexts(
        core, survivor_age=what.survivor_age_at_incident,
        relationships=[p.relationship for p in what.perpetrators],
        exchange=what.exchange, abducted=what.abducted, harmful_practice=what.harmful_practice)
    return {
        "answers": ",".join(k for k, v in answers.items() if v),
        "core_type": core,
        "contexts": ",".join(sorted(contexts)),
        "report_band": gbvims.report_band(what.incident_date, what.reported_date),
        "urgent_clinical": gbvims.urgent_clinical(core, what.incident_date, utcnow(),
                                                  at=what.incident_time, part=what.time_of_day,
                                                  zone=zone),
    }


def _set_perpetrators(incident: Incident, recorded: Sequence[PerpetratorInput]) -> None:
    """Put the recorded perpetrators on the incident by position: rows are changed in place
    and the ones beyond the new number removed (never a delete and an insert of the same
    position in one flush, which the unique position would refuse)."""
    by_position = {p.position: p for p in incident.perpetrators}
    for position, p in enumerate(recorded, start=1):
        row = by_position.pop(position, None)
        if row is None:
            row = IncidentPerpetrator(position=position)
            incident.perpetrators.append(row)
        row.sex, row.age_group = p.sex, p.age_group
        row.relationship, row.occupation = p.relationship, p.occupation
    for row in by_position.values():
        incident.perpetrators.remove(row)


CLEAR_INCIDENT_FIELDS = ("incident_date", "date_is_approximate", "reported_date", "location_type",
                         "perpetrator_count", "time_of_day", "displacement_stage",
                         "survivor_age_at_incident", "exchange", "abducted", "harmful_practice",
                         "harmful_practice_type", "incident_time")
SEALED_INCIDENT_FIELDS = ("narrative", "perpetrator_details", "location_detail")


def save_incident(user: User, case: Case, values: IncidentInput,
                  incident: Incident | None = None, version: Any = None,
                  once: Submission | None = None) -> Incident:
    """Create or update an incident; the core type comes from the ordered questions. ``once``
    (a new incident's one-time form token) is claimed with it. An incident after now (its date
    and time in the organisation's zone) is refused (``IncidentInFuture``)."""
    writable(case)
    if incident is not None:
        check_version(incident, version, StaleError)
    _check_incident(case, values)
    zone = organisation_zone(case.organisation_id)
    if gbvims.in_future(values.incident_date, values.incident_time, utcnow(), zone):
        raise IncidentInFuture("incident_time" if values.incident_time else "incident_date")
    derived = _classify(values, zone)
    with history.changed_by(user), saving(incident, StaleError):
        if incident is None:
            incident = Incident(case_id=case.id, recorded_by_id=user.id, data_key=case.data_key)
            db.session.add(incident)
        for f in CLEAR_INCIDENT_FIELDS:
            setattr(incident, f, getattr(values, f))
        for f, v in derived.items():
            setattr(incident, f, v)
        _set_perpetrators(incident, values.perpetrators)
        db.session.flush()
        for f in SEALED_INCIDENT_FIELDS:
            setattr(incident, f, sealing.clean(getattr(values, f)))
        touch(case)
        record(Action.INCIDENT_CREATE if version is None else Action.INCIDENT_UPDATE,
               object_type=ObjectType.INCIDENT, object_id=incident.id)
        claim(once, ObjectType.INCIDENT, incident.id)
    return incident


def save_assessment(user: User, case: Case, values: AssessmentInput, version: Any,
                    once: Submission | None = None) -> Assessment:
    """Save the case's assessment and safety plan; the risk level is copied to the case.
    ``once`` (the form's one-time token) is claimed with the save."""
    writable(case)
    current = db.session.execute(
        select(Assessment).where(Assessment.case_id == case.id)).scalar_one_or_none()
    if current is not None:
        check_version(current, version, StaleError)
    with history.changed_by(user), saving(current, StaleError):
        if current is None:
            current = Assessment(case_id=case.id, assessed_by_id=user.id, data_key=case.data_key)
            db.session.add(current)
        current.risk_level = values.risk_level or "unknown"
        current.needs = ",".join(values.needs or [])
        current.assessed_by_id = user.id
        db.session.flush()
        current.notes = sealing.clean(values.notes)
        current.safety_plan = sealing.clean(values.safety_plan)
        case.risk_level = current.risk_level
        case.updated_at = utcnow()
        record(Action.ASSESSMENT_UPDATE, object_type=ObjectType.CASE, object_id=case.id)
        claim(once, ObjectType.ASSESSMENT, current.id)
    return current


def save_action_item(user: User, case: Case, values: GoalInput,
                     item: ActionItem | None = None, version: Any = None,
                     once: Submission | None = None) -> ActionItem:
    """Add or change a goal of the action plan (``once``: a new goal's one-time form token)."""
    writable(case)
    if item is not None:
        check_version(item, version, StaleError)
    with history.changed_by(user), saving(item, StaleError):
        if item is None:
            item = ActionItem(case_id=case.id, data_key=case.data_key)
            db.session.add(item)
        item.service_type = values.service_type
        item.due_on = values.due_on
        item.status = values.status or "planned"
        db.session.flush()
        item.goal = sealing.clean(values.goal)
        touch(case)
        record(Action.ACTION_ITEM_CREATE if version is None else Action.ACTION_ITEM_UPDATE,
               object_type=ObjectType.ACTION_ITEM, object_id=item.id)
        claim(once, ObjectType.ACTION_ITEM, item.id)
    return item


def add_follow_up(user: User, case: Case, values: FollowUpInput,
                  once: Submission | None = None) -> FollowUp:
    """Plan (or record) a follow-up visit (``once``: the form's one-time token)."""
    writable(case)
    with history.changed_by(user), saving(case, StaleError):
        visit = FollowUp(case_id=case.id, due_on=values.due_on, done_on=values.done_on,
                         recorded_by_id=user.id, data_key=case.data_key)
        db.session.add(visit)
        db.session.flush()
        visit.notes = sealing.clean(values.notes)
        touch(case)
        record(Action.FOLLOW_UP_CREATE, object_type=ObjectType.FOLLOW_UP, object_id=visit.id)
        claim(once, ObjectType.FOLLOW_UP, visit.id)
    return visit


def complete_follow_up(user: User, case: Case, visit: FollowUp, notes: str | None) -> None:
    """Mark a planned visit as done today, with notes."""
    writable(case)
    with history.changed_by(user), saving(case, StaleError):
        visit.done_on = today(organisation_zone(case.organisation_id))
        if notes:
            visit.notes = notes
        record(Action.FOLLOW_UP_UPDATE, object_type=ObjectType.FOLLOW_UP, object_id=visit.id)


def add_note(user: User, case: Case, body: str, once: Submission | None = None) -> CaseNote:
    """Add a case note (notes are never edited, only added; ``once``: the form's token)."""
    writable(case)
    with history.changed_by(user), saving(case, StaleError):
        note = CaseNote(case_id=case.id, author_id=user.id, created_at=utcnow(),
                        data_key=case.data_key)
        db.session.add(note)
        db.session.flush()
        note.body = body
        touch(case)
        record(Action.NOTE_CREATE, object_type=ObjectType.NOTE, object_id=note.id)
        claim(once, ObjectType.NOTE, note.id)
    return note
