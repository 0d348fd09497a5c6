"""The case's history of changes as its page shows it: newest first, by keyset, each changed
field with its label, its previous value and, when a newer change on the same page replaced it,
the value it was changed to (otherwise "changed").

Everyone who may open a case (its caseworkers, its supervisors, a supervisor with break-glass)
sees every field of it on the case page, so they see every field's previous values here too;
``SHOWN`` is where a field some viewer may not see on the case page would be left out. Auditors
never reach this page: their trail shows that a record was written, never what it said.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app.auth.models import User
from app.cases.history import ADDED, PERPETRATOR, PERPETRATOR_CODES, CaseChange
from app.cases.labels import Domain, label
from app.cases.models import Case
from app.crypto.readable import readable
from app.db import db
from app.directory.models import Organisation, Site
from app.ui import dateformat

PAGE_SIZE = 20

RECORD_LABELS: dict[str, Any] = {
    "cases": _l("Survivor"), "incidents": _l("Incident"),
    "assessments": _l("Assessment and safety plan"), "action_items": _l("Action plan goal"),
    "follow_ups": _l("Follow-up"),
}
FIELD_LABELS: dict[str, Any] = {
    "full_name": _l("Full name"), "alias": _l("Alias"), "date_of_birth": _l("Date of birth"),
    "estimated_age": _l("Estimated age"), "phone": _l("Phone"), "location": _l("Location"),
    "safe_contact": _l("Safe contact"), "sex": _l("Sex"), "age_group": _l("Age group"),
    "nationality_group": _l("Nationality"), "displacement_status": _l("Displacement status"),
    "disability": _l("Disability"), "is_child": _l("Child"), "site_id": _l("Site"),
    "primary_worker_id": _l("Primary caseworker"),
    "secondary_worker_id": _l("Secondary caseworker"),
    "plan_approved_at": _l("Plan approved"), "plan_approved_by_id": _l("Plan approved by"),
    "organisation_id": _l("Organisation"), "case_number": _l("Case number"),
    "opened_on": _l("Opened"),
    "incident_date": _l("Date of the incident"), "date_is_approximate": _l("The date is approximate"),
    "reported_date": _l("Date reported"), "location_type": _l("Type of place"),
    "answers": _l("Classification answers"), "core_type": _l("Type of incident"),
    "contexts": _l("Contexts"), "perpetrator_count": _l("Number of perpetrators"),
    "time_of_day": _l("Time of day"), "incident_time": _l("Time of the incident"),
    "displacement_stage": _l("Stage of displacement"), "report_band": _l("Reported within"),
    "survivor_age_at_incident": _l("Survivor's age at the incident"),
    "exchange": _l("Exchange"), "abducted": _l("Abducted or held"),
    "harmful_practice": _l("Harmful traditional practice"),
    "harmful_practice_type": _l("Which harmful traditional practice"),
    "urgent_clinical": _l("Urgent clinical care"), "narrative": _l("Account of the incident"),
    "perpetrator_details": _l("Perpetrator details"), "location_detail": _l("Place details"),
    "risk_level": _l("Risk level"), "needs": _l("Needs"), "notes": _l("Notes"),
    "safety_plan": _l("Safety plan"), "service_type": _l("Service"), "due_on": _l("Due"),
    "status": _l("Status"), "goal": _l("Goal"), "done_on": _l("Done on"),
}
CODED: dict[str, Domain] = {
    "sex": Domain.SEX, "age_group": Domain.AGE_GROUP, "nationality_group": Domain.NATIONALITY,
    "displacement_status": Domain.DISPLACEMENT, "disability": Domain.YES_NO_UNKNOWN,
    "location_type": Domain.LOCATION_TYPE, "core_type": Domain.CORE_TYPE,
    "contexts": Domain.CONTEXT, "perpetrator_count": Domain.PERPETRATOR_COUNT,
    "time_of_day": Domain.TIME_OF_DAY, "displacement_stage": Domain.DISPLACEMENT_STAGE,
    "report_band": Domain.REPORT_BAND, "harmful_practice_type": Domain.HARMFUL_PRACTICE,
    "risk_level": Domain.RISK, "needs": Domain.SERVICE_TYPE, "service_type": Domain.SERVICE_TYPE,
    "status": Domain.ACTION_STATUS,
}
PERPETRATOR_DOMAINS = {"sex": Domain.SEX, "age_group": Domain.AGE_GROUP,
                       "relationship": Domain.RELATIONSHIP, "occupation": Domain.OCCUPATION}
USERS = ("primary_worker_id", "secondary_worker_id", "plan_approved_by_id")
PLACES: dict[str, Any] = {"site_id": Site, "organisation_id": Organisation}  # by their names
DATES = ("date_of_birth", "incident_date", "reported_date", "due_on", "done_on", "opened_on")


def shown(user: User, table: str, field: str) -> bool:
    """Whether ``user``, who may open the case, sees ``field`` of ``table`` on the case page (all
    of them today: see the module's docstring)."""
    return True


@dataclass(frozen=True)
class FieldChange:
    """One field of one change as shown: its label, the value before and the value after
    (None: not known on this page, shown as "changed")."""

    label: str
    before: str
    after: str | None


@dataclass(frozen=True)
class ChangeRow:
    """One saved change as shown."""

    change: CaseChange
    what: str
    by: str
    fields: list[FieldChange]


@dataclass(frozen=True)
class HistoryPage:
    """A page of changes, newest first, with the paging keys of its neighbours."""

    rows: list[ChangeRow]
    previous: uuid.UUID | None
    next: uuid.UUID | None
    unreadable: int


def _values(opened: dict[str, Any]) -> dict[str, Any]:
    """The previous values of an opened change (its sealed JSON)."""
    text = opened.get("previous")
    return dict(json.loads(text)) if text else {}


def _listed(value: str, domain: Domain) -> str:
    return ", ".join(label(v, domain) for v in value.split(",") if v) or "—"


def _shown(field: str, value: Any, names: dict[str, str]) -> str:
    """A previous value as text in the reader's language (codes labelled, dates formatted)."""
    if value == ADDED and PERPETRATOR.fullmatch(field):
        return str(_("(none: added)"))
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(label(value.get(c), PERPETRATOR_DOMAINS[c]) for c in PERPETRATOR_CODES)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if field in USERS:
        return names.get(str(value)) or str(_("Former account"))
    if field in PLACES:
        return names.get(str(value)) or "—"
    if field in CODED:
        return _listed(str(value), CODED[field]) if "," in str(value) or field in (
            "contexts", "needs") else label(str(value), CODED[field])
    if field in DATES:
        try:
            return dateformat(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if field == "incident_time":
        return time.fromisoformat(str(value)).strftime("%H:%M")
    return str(value)


def field_label(field: str) -> str:
    """The label of a field code (a perpetrator by their place: "Perpetrator 2")."""
    if PERPETRATOR.fullmatch(field):
        return str(_("Perpetrator %(n)s", n=field.removeprefix("perpetrator")))
    return str(FIELD_LABELS.get(field, field))


def _page_rows(case: Case, after: uuid.UUID | None, before: uuid.UUID | None
               ) -> tuple[list[CaseChange], bool, bool]:
    """The changes of the page (newest first), whether older and newer ones exist."""
    stmt = select(CaseChange).where(CaseChange.case_id == case.id)
    anchor_id = after or before
    anchor = db.session.execute(
        select(CaseChange.at, CaseChange.id).where(CaseChange.id == anchor_id,
                                                   CaseChange.case_id == case.id)
    ).one_or_none() if anchor_id else None
    if anchor is None:  # no anchor, or one outside this case: the first page
        rows = list(db.session.execute(
            stmt.order_by(CaseChange.at.desc(), CaseChange.id.desc()).limit(PAGE_SIZE + 1)
        ).scalars())
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, False
    at, rid = anchor
    if after:
        older = or_(CaseChange.at < at, and_(CaseChange.at == at, CaseChange.id < rid))
        rows = list(db.session.execute(stmt.where(older).order_by(
            CaseChange.at.desc(), CaseChange.id.desc()).limit(PAGE_SIZE + 1)).scalars())
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, True
    newer = or_(CaseChange.at > at, and_(CaseChange.at == at, CaseChange.id > rid))
    rows = list(db.session.execute(stmt.where(newer).order_by(
        CaseChange.at, CaseChange.id).limit(PAGE_SIZE + 1)).scalars())
    more = len(rows) > PAGE_SIZE
    return list(reversed(rows[:PAGE_SIZE])), True, more


def history_page(user: User, case: Case, after: uuid.UUID | None = None,
                 before: uuid.UUID | None = None) -> HistoryPage:
    """One page of the case's history for ``user`` (who may open the case): the previous
    values opened (a change that does not open is left out and counted, audited)."""
    found, older, newer = _page_rows(case, after, before)
    opened = readable(found, ("previous",))
    ids = {str(v) for c, values in opened for k, v in _values(values).items()
           if k in USERS and v} | {str(c.by_id) for c in found if c.by_id}
    names = {str(u.id): u.display_name for u in db.session.execute(
        select(User).where(User.id.in_([uuid.UUID(i) for i in ids]))).scalars()} if ids else {}
    for name, model in PLACES.items():  # one query each, only when a page shows such a move
        places = {uuid.UUID(str(v)) for _c, values in opened for k, v in _values(values).items()
                  if k == name and v}
        if places:
            names.update({str(p.id): p.name for p in db.session.execute(
                select(model).where(model.id.in_(places))).scalars()})
    later: dict[tuple[uuid.UUID, str], Any] = {}  # record, field -> value a newer change replaced
    rows = []
    for change, values in opened:
        previous = _values(values)
        shown_fields = []
        for code in change.field_codes():
            if not shown(user, change.record_table, code):
                continue
            key = (change.record_id, code)
            after_value = later.get(key)
            shown_fields.append(FieldChange(
                field_label(code), _shown(code, previous.get(code), names),
                None if key not in later else _shown(code, after_value, names)))
            later[key] = previous.get(code)
        rows.append(ChangeRow(change, str(RECORD_LABELS.get(change.record_table, "")),
                              names.get(str(change.by_id), _("Amana (automatic)"))
                              if change.by_id else _("Amana (automatic)"), shown_fields))
    return HistoryPage(rows, found[0].id if found and newer else None,
                       found[-1].id if found and older else None, len(found) - len(opened))
