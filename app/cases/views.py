"""What the case pages show: context builders that decrypt only what a page displays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases import closure, forms, gbvims, justifications, queries
from app.cases.consent import KIND_LABELS, ConsentKind, consent_state
from app.cases.labels import Domain, label
from app.cases.models import ActionItem, Assessment, Case, CaseNote, FollowUp, Incident, StatusChange
from app.cases.rules import is_writable
from app.cases.scopes import CaseAccess
from app.cases.service import IDENTITY_FIELDS
from app.cases.workflow import (
    CLOSURE_REASONS,
    REOPEN_REASONS,
    STATUS_LABELS,
    CaseStatus,
    next_statuses,
)
from app.clock import utcnow
from app.core import hooks
from app.crypto.readable import readable
from app.db import db
from app.forms import OneTimeSubmission
from app.localtime import deadline, organisation_zone, today, user_zone, zone

INCIDENT_TEXT = ("narrative", "perpetrator_details", "location_detail")
# Goals of the action plan still to do (overdue once their date has passed).
OPEN_ITEM_STATUSES = ("planned", "in_progress")


def consent_kinds() -> list[tuple[str, object]]:
    """The kinds of consent a form can record."""
    kinds: list[tuple[str, object]] = [(k.value, KIND_LABELS[k]) for k in
                                       (ConsentKind.SERVICES, ConsentKind.REPORTING,
                                        ConsentKind.TRANSFER)]
    kinds += [(f"{ConsentKind.SHARE}:{t}", _l("Share with: %(s)s", s=label(t, Domain.SERVICE_TYPE)))
              for t in gbvims.SERVICE_TYPES]
    return kinds


def share_field_choices() -> list[tuple[str, Any]]:
    """Fields a sharing consent can allow beyond the minimum (what the features that share,
    referrals, can carry: ``hooks.share_fields``)."""
    return [pair for found in hooks.share_fields.collect() for pair in found]


def _contributions(hook: hooks.Hook, **kwargs: Any) -> dict[str, Any]:
    """The names other features add to a page (``hooks.case_page``, ``hooks.task_page``)."""
    merged: dict[str, Any] = {}
    for part in hook.collect(**kwargs):
        merged.update(part)
    return merged


def identity_values(case: Case) -> dict[str, Any]:
    """The decrypted identity of a case, plus its clear categories (for the edit form)."""
    values = {f: getattr(case, f) for f in IDENTITY_FIELDS}
    values.update(sex=case.sex, nationality_group=case.nationality_group,
                  displacement_status=case.displacement_status, disability=case.disability)
    return values


def incident_values(case: Case, incident: Incident) -> dict[str, Any]:
    """An incident's fields for its edit form: its stored answers and facts, never a
    guess from its contexts."""
    values: dict[str, Any] = {c: getattr(incident, c) for c in (
        "incident_date", "date_is_approximate", "reported_date", "location_type",
        "perpetrator_count", "time_of_day", "displacement_stage", "survivor_age_at_incident",
        "harmful_practice_type", "incident_time")}
    values["age_unknown"] = incident.survivor_age_at_incident is None
    yes = set(incident.answers.split(",")) if incident.answers else set()
    for q in gbvims.CLASSIFICATION:
        values[q.key] = "yes" if q.key in yes else "no"
    for fact in ("exchange", "abducted", "harmful_practice"):
        values[fact] = "yes" if getattr(incident, fact) else "no"
    values["perpetrators"] = [{"sex": p.sex, "age_group": p.age_group,
                               "relationship": p.relationship, "occupation": p.occupation}
                              for p in incident.perpetrators]
    for f in INCIDENT_TEXT:
        values[f] = getattr(incident, f)
    return values


def age_prefill(case: Case, day: date) -> int | None:
    """The survivor's age on ``day``, from the sealed date of birth or the age estimated when
    the case was opened (opened here to fill a form, never logged or put in a URL)."""
    return gbvims.age_on(day, date_of_birth=case.date_of_birth,
                         estimated_age=case.estimated_age, estimated_on=case.opened_on)


def new_incident_values(case: Case) -> dict[str, Any]:
    """A new incident's pre-filled answer: the survivor's age today (the incident's date is
    not known yet). The worker corrects it for an incident long ago; left empty, the refused
    form comes back with the age at the date given (``age_prefill``); the save checks it
    against the date of birth at the incident's date."""
    age = age_prefill(case, today(organisation_zone(case.organisation_id)))
    return {"survivor_age_at_incident": age} if age is not None else {}


def assessment_values(case: Case) -> tuple[Assessment | None, dict[str, Any]]:
    """The current assessment (if any) and its form values."""
    current = db.session.execute(
        select(Assessment).where(Assessment.case_id == case.id)).scalar_one_or_none()
    if current is None:
        return None, {}
    return current, {"risk_level": current.risk_level,
                     "needs": [n for n in current.needs.split(",") if n],
                     "notes": current.notes,
                     "safety_plan": current.safety_plan}


def action_values(case: Case, item: ActionItem) -> dict[str, Any]:
    """An action-plan goal's form values."""
    return {"goal": item.goal, "service_type": item.service_type,
            "due_on": item.due_on, "status": item.status}


def _children(model: Any, case: Case, order: Any, *options: Any) -> list[Any]:
    return list(db.session.execute(
        select(model).where(model.case_id == case.id).order_by(order).options(*options))
        .unique().scalars())


def _people(case: Case, *groups: list[Any]) -> list[User]:
    """Everyone the case page names (its workers, the authors of its notes, who changed its
    status). The case loader and the notes' and changes' statements join them, so usually no
    statement is left here; whoever is still missing is read in one statement rather than one
    each when the template reaches them (a many-to-one by primary key is looked up in the
    session first). Returned so that the page holds them (the session holds them weakly)."""
    ids = {case.primary_worker_id, case.secondary_worker_id}
    for group in groups:
        ids.update(r.author_id if isinstance(r, CaseNote) else r.by_id for r in group)
    ids.discard(None)
    held = db.session.identity_map
    missing = [i for i in ids if identity_key(User, i) not in held]
    return list(db.session.execute(select(User).where(User.id.in_(missing))).scalars()) \
        if len(missing) > 1 else []


def _opened(record: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """The values of one record's ``fields``, or None when it does not open (left out with the
    page's notice, like a damaged record in a list; see ``app.crypto.readable``)."""
    if record is None:
        return None
    found = readable([record], fields)
    return found[0][1] if found else None


# The forms of the case page, by the name the page knows them by (``case_forms``).
CASE_FORMS: dict[str, Callable[[Case], FlaskForm]] = {
    "status_form": lambda case: forms.StatusForm(formdata=None),
    # The forms that create a record carry a one-time token bound to this case.
    "consent_form": lambda case: forms.ConsentForm(formdata=None, context=case.id),
    "closure_form": lambda case: forms.ClosureForm(formdata=None),
    "decision_form": lambda case: forms.DecisionForm(formdata=None),
    "reopen_form": lambda case: forms.ReopenForm(formdata=None),
    "note_form": lambda case: forms.NewNoteForm(formdata=None, context=case.id),
    "follow_up_form": lambda case: forms.FollowUpForm(formdata=None, prefix="follow_up",
                                                      context=case.id),
}


def case_forms(case: Case, refused: dict[str, FlaskForm]) -> dict[str, FlaskForm]:
    """The case page's forms: blank, each with a fresh one-time token (also when the page
    answers a POST), except a ``refused`` one, shown as it was sent, with its errors."""
    unknown = set(refused) - set(CASE_FORMS)
    if unknown:
        raise KeyError(f"not a form of the case page: {sorted(unknown)}")
    made: dict[str, FlaskForm] = {}
    for name, make in CASE_FORMS.items():
        if name in refused:
            made[name] = refused[name]
            continue
        made[name] = form = make(case)
        if isinstance(form, OneTimeSubmission) and form.is_submitted():
            form.issue_token()  # a POST answered with the page: built blank, token not issued
    status_form = cast(forms.StatusForm, made["status_form"])
    status_form.to_status.choices = [(s, STATUS_LABELS[s]) for s in next_statuses(case.status)]
    consent_form = cast(forms.ConsentForm, made["consent_form"])
    consent_form.kind.choices = consent_kinds()
    consent_form.share_fields.choices = share_field_choices()
    return made


def case_context(user: User, access: CaseAccess,
                 refused: dict[str, FlaskForm] | None = None) -> dict[str, Any]:
    """Everything the case page shows, decrypted once; ``refused``: a form of the page that
    was sent and refused, by its name (``CASE_FORMS``), shown with its errors and input.

    Every record of the page opens on its own: one that does not (damaged, or its key gone) is
    left out with a notice and audited, and the rest of the case is still shown.
    """
    case = access.case
    # The incidents with their perpetrators joined: one statement, not a second one for them.
    incidents = readable(_children(Incident, case, Incident.incident_date,
                                   joinedload(Incident.perpetrators)), INCIDENT_TEXT)
    all_items = _children(ActionItem, case, ActionItem.due_on)
    all_visits = _children(FollowUp, case, FollowUp.due_on)
    items = readable(all_items, ("goal",))
    visits = readable(all_visits, ("notes",))
    # Their authors joined (so everyone the page names is read without a statement of its own).
    notes = readable(_children(CaseNote, case, CaseNote.created_at.desc(),
                               joinedload(CaseNote.author)), ("body",))
    history = _children(StatusChange, case, StatusChange.at.desc(), joinedload(StatusChange.by))
    people = _people(case, [n for n, _ in notes], history)
    current = db.session.execute(
        select(Assessment).where(Assessment.case_id == case.id)).scalar_one_or_none()
    closing = case.status == CaseStatus.CLOSURE_REQUESTED
    request = next((h for h in history if h.to_status == CaseStatus.CLOSURE_REQUESTED),
                   None) if closing else None  # last_change, from the history read above
    closure_detail = _opened(request, ("reason_detail",))
    page_forms = case_forms(case, refused or {})
    consent = consent_state(case)
    writable = access.writable
    ctx: dict[str, Any] = {
        "case": case, "access": access, "identity": _opened(case, IDENTITY_FIELDS),
        "people": people,
        "consent": consent,
        "incidents": incidents,
        "clinical_window_ends": clinical_windows(case, [i for i, _ in incidents]),
        # Incidents whose unknown age leaves a child context possible (a notice is shown).
        "age_unsure": {i.id for i, _ in incidents
                       if gbvims.child_contexts_unsure(i.core_type, i.survivor_age_at_incident)},
        "assessment": current,
        "assessment_text": _opened(current, ("notes", "safety_plan")) or {},
        "items": [(i, v["goal"]) for i, v in items],
        "overdue_items": {i.id for i, _ in items if i.due_on < today(user_zone(user))
                          and i.status in OPEN_ITEM_STATUSES},
        "visits": [(v, t["notes"]) for v, t in visits],
        "notes": [(n, t["body"]) for n, t in notes],
        "history": history, "closure_request": request,
        "closure_detail": closure_detail["reason_detail"] if closure_detail else None,
        "label": label, "status_labels": STATUS_LABELS, "closure_reasons": CLOSURE_REASONS,
        "reopen_reasons": REOPEN_REASONS, **page_forms,
        **(sections := _contributions(hooks.case_page, case=case, user=user)),
        "break_glass_grants": justifications.grants_for(user, case),
        "today": today(user_zone(user)), "can_approve": can(user, Permission.CASE_APPROVE),
        "self_requested": request is not None and request.by_id == user.id,
        # What the page offers: only the forms the services would accept.
        "writable": writable,
        # Beyond intake only with consent for services.
        "can_act": writable and consent.has(ConsentKind.SERVICES),
        "closure_requested": closing,
        "closed": not is_writable(case),
        "can_reopen": not access.read_only and not is_writable(case),
    }
    can_act, can_approve = ctx["can_act"], ctx["can_approve"]
    ctx.update(
        can_request_closure=can_act
        and case.status not in (CaseStatus.OPEN, CaseStatus.CLOSURE_REQUESTED),
        can_decide_closure=closing and can_approve and not ctx["self_requested"]
        and not access.read_only,
        can_approve_plan=can_act and can_approve and bool(items) and not case.plan_approved_at,
    )
    # What is still open, for the closure request and the decision (``app.cases.closure``).
    # Each from what the page has read above, not read again.
    ctx.update(open_items=closure.open_items(case, all_items, all_visits, sections)
               if ctx["can_request_closure"] or closing else [],
               sent_back=closure.sent_back(case, history))
    return ctx


def clinical_referrals(contributions: dict[str, Any]) -> dict[Any, str]:
    """Cases whose urgent clinical referral is sent, by case id: the referral's status ("sent":
    awaiting an answer, "accepted"). Referrals tell through their ``hooks.task_page`` or
    ``hooks.case_page`` section (``clinical_referrals``); cases never import them."""
    return dict(contributions.get("clinical_referrals") or {})


#: Days before today past which no 72-hour window can still be open, whatever the zone: the
#: window ends at most a day (the part of the day unknown) plus 72 hours after the incident's
#: date, and zones differ from each other by at most a day.
WINDOW_DAYS_BOUND = 6


def urgent_tasks(user: User, referred: dict[Any, str]) -> list[queries.UrgentTask]:
    """Rape incidents still inside their 72-hour window, counted from the incident's time in the
    organisation's zone (``gbvims.clinical_window_end``), soonest deadline first."""
    now = utcnow()
    found = []
    since = today(user_zone(user)) - timedelta(days=WINDOW_DAYS_BOUND)
    for row in queries.urgent_incidents(user, since):
        ends = gbvims.clinical_window_end(row.incident_date, at=row.incident_time,
                                          part=row.time_of_day, zone=zone(row.time_zone))
        if ends > now:
            found.append(queries.UrgentTask(row.case_id, row.case_number, ends,
                                            int((ends - now).total_seconds() // 3600),
                                            referred.get(row.case_id)))
    return sorted(found, key=lambda t: (t.ends_at, t.case_number))


def clinical_windows(case: Case, incidents: list[Incident]) -> dict[Any, datetime]:
    """When the 72-hour window of each rape incident of ``case`` still open closes (UTC)."""
    now, where = utcnow(), organisation_zone(case.organisation_id)
    ends = {i.id: gbvims.clinical_window_end(i.incident_date, at=i.incident_time,
                                             part=i.time_of_day, zone=where)
            for i in incidents if i.core_type == gbvims.CoreType.RAPE}
    return {key: end for key, end in ends.items() if end > now}


def clinical_referral_status(case: Case, user: User) -> str | None:
    """The status of the case's open urgent clinical referral ("sent", "accepted"), if any."""
    return clinical_referrals(_contributions(hooks.case_page, case=case, user=user)).get(case.id)


def urgent_incident_message(case: Case, incident: Incident, user: User) -> str:
    """What to do about a rape inside its 72-hour window, and until when (the zone named):
    refer now, or wait for the answer to the clinical referral already sent."""
    ends = deadline(gbvims.clinical_window_end(
        incident.incident_date, at=incident.incident_time, part=incident.time_of_day,
        zone=organisation_zone(case.organisation_id)))
    status = clinical_referral_status(case, user)
    if status == "sent":
        return str(_("Rape within the last 72 hours: the urgent clinical referral is sent, "
                     "awaiting answer. Clinical window ends %(when)s.", when=ends))
    if status == "accepted":
        return str(_("Rape within the last 72 hours: the urgent clinical referral was accepted. "
                     "Clinical window ends %(when)s.", when=ends))
    return str(_("Rape within the last 72 hours: refer for clinical care now (post-exposure "
                 "prophylaxis, emergency contraception). Clinical window ends %(when)s.",
                 when=ends))


def task_context(user: User) -> dict[str, Any]:
    """The task list: overdue items and urgent clinical incidents with hours left."""
    contributions = _contributions(hooks.task_page, user=user)
    urgent = urgent_tasks(user, clinical_referrals(contributions))
    closure, unassigned = [], []
    can_assign = can(user, Permission.CASE_ASSIGN)
    if can_assign:
        closure = queries.closure_requests(user)
        unassigned = queries.unassigned_cases(user)
    return {"overdue": queries.overdue_tasks(user, today(user_zone(user))), "urgent": urgent,
            **contributions,
            "closure": closure, "unassigned": unassigned, "can_assign": can_assign, "label": label}
