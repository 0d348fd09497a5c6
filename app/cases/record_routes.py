"""Case screens for the records inside a case: incidents, assessment and safety plan, action
plan, follow-ups and notes. ``register`` puts them on the cases blueprint (``routes``)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.cases import forms, gbvims, incident_forms, records, views
from app.cases.models import ActionItem, Case, FollowUp, Incident
from app.cases.route_support import case_page_again, child, fail
from app.cases.scopes import load_case
from app.core.errors import CaseError
from app.localtime import organisation_zone_name
from app.submissions.service import AlreadySaved, already_saved


def _beside(form: incident_forms.IncidentForm, exc: records.IncidentError) -> None:
    """Show a refusal of the incident service beside the field it names (above the form when
    the field is not on it)."""
    target = form.field_named(exc.field)
    if target is None:
        fail(exc, form)
    else:
        target.errors = [*target.errors, str(exc)]


def _offer_age(case: Case, form: incident_forms.IncidentForm) -> None:
    """A new incident refused with its age left empty comes back with the age at the date
    given, from the date of birth or estimated age, for the worker to check and save."""
    age_field = form.survivor_age_at_incident
    if age_field.data is None and not form.age_unknown.data and form.incident_date.data \
            and not form.incident_date.errors:
        age = views.age_prefill(case, form.incident_date.data)
        if age is not None:
            age_field.data, age_field.raw_data = age, None
            age_field.errors = [str(_("Filled in from the date of birth or estimated age at "
                                      "the incident's date: check it, then save."))]


@require(Permission.CASE_EDIT)
def incident(case_id: uuid.UUID, incident_id: uuid.UUID | None = None) -> str | Response:
    """Record or edit an incident with the GBVIMS classification questions."""
    case = load_case(current_user, case_id, write=True, action=Action.INCIDENT_UPDATE).case
    current = child(Incident, case, incident_id, Action.INCIDENT_UPDATE,
                     ObjectType.INCIDENT) if incident_id else None
    data = views.incident_values(case, current) if current and request.method == "GET" else None
    form = (incident_forms.IncidentForm(data=data) if current else incident_forms.NewIncidentForm(
        context=case.id, data=views.new_incident_values(case) if request.method == "GET" else None))
    back = url_for("cases.view", case_id=case.id, _anchor="incidents")
    if isinstance(form, incident_forms.NewIncidentForm) and (prior := form.replayed()) is not None:
        return already_saved(prior, back)
    if request.method == "GET" and current is not None:
        form.version.data = str(current.version)
    if form.validate_on_submit():
        try:
            service_incident = records.save_incident(
                current_user, case, records.IncidentInput.of(form), current,
                form.version.data if current else None,
                once=form.submission if isinstance(form, incident_forms.NewIncidentForm) else None)
        except AlreadySaved as done:
            return already_saved(done.claim, back)
        except records.IncidentError as exc:
            _beside(form, exc)
        except CaseError as exc:
            fail(exc, form)
        else:
            if service_incident.urgent_clinical:
                flash(views.urgent_incident_message(case, service_incident, current_user),
                      "warning")
            return redirect(url_for("cases.view", case_id=case.id, _anchor="incidents"))
    if isinstance(form, incident_forms.NewIncidentForm) and form.is_submitted():
        _offer_age(case, form)
    return render_template("cases/incident.html", form=form, case=case, incident=current,
                           classification=gbvims.CLASSIFICATION,
                           zone_name=organisation_zone_name(case.organisation_id),
                           age_unsure=current is not None and gbvims.child_contexts_unsure(
                               current.core_type, current.survivor_age_at_incident))


@require(Permission.CASE_EDIT)
def assessment(case_id: uuid.UUID) -> str | Response:
    """Risk level, needs, assessment notes and safety plan."""
    case = load_case(current_user, case_id, write=True, action=Action.ASSESSMENT_UPDATE).case
    current, data = views.assessment_values(case)
    form = forms.AssessmentForm(data=data if request.method == "GET" else None, context=case.id)
    back = url_for("cases.view", case_id=case.id, _anchor="assessment")
    if (prior := form.replayed()) is not None:  # a retried save (the first one may create it)
        return already_saved(prior, back)
    if request.method == "GET":
        form.version.data = str(current.version) if current else ""
    elif form.validate_on_submit():
        try:
            records.save_assessment(current_user, case, records.AssessmentInput(
                risk_level=form.risk_level.data, needs=tuple(form.needs.data or ()),
                notes=form.notes.data, safety_plan=form.safety_plan.data), form.version.data,
                                    form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, back)
        except CaseError as exc:
            fail(exc, form)
        else:
            return redirect(url_for("cases.view", case_id=case.id, _anchor="assessment"))
    return render_template("cases/assessment.html", form=form, case=case)


@require(Permission.CASE_EDIT)
def action_item(case_id: uuid.UUID, item_id: uuid.UUID | None = None) -> str | Response:
    """Add or change a goal of the action plan."""
    case = load_case(current_user, case_id, write=True, action=Action.ACTION_ITEM_UPDATE).case
    item = child(ActionItem, case, item_id, Action.ACTION_ITEM_UPDATE,
                  ObjectType.ACTION_ITEM) if item_id else None
    form = (forms.ActionItemForm(data=views.action_values(case, item)
                                 if request.method == "GET" else None)
            if item else forms.NewActionItemForm(context=case.id))
    back = url_for("cases.view", case_id=case.id, _anchor="plan")
    if isinstance(form, forms.NewActionItemForm) and (prior := form.replayed()) is not None:
        return already_saved(prior, back)
    if request.method == "GET" and item is not None:
        form.version.data = str(item.version)
    if form.validate_on_submit():
        try:
            records.save_action_item(current_user, case, records.GoalInput(
                service_type=form.service_type.data or "", due_on=form.due_on.data,
                status=form.status.data, goal=form.goal.data), item,
                                     form.version.data if item else None,
                                     once=form.submission
                                     if isinstance(form, forms.NewActionItemForm) else None)
        except AlreadySaved as done:
            return already_saved(done.claim, back)
        except CaseError as exc:
            fail(exc, form)
        else:
            return redirect(url_for("cases.view", case_id=case.id, _anchor="plan"))
    return render_template("cases/action_item.html", form=form, case=case, item=item)


@require(Permission.CASE_EDIT)
def follow_up(case_id: uuid.UUID) -> str | Response:
    """Plan or record a follow-up visit (refused: the case page, the messages beside the
    fields, what was typed kept)."""
    access = load_case(current_user, case_id, write=True, action=Action.FOLLOW_UP_CREATE)
    case = access.case
    form = forms.FollowUpForm(prefix="follow_up", context=case.id)
    back = url_for("cases.view", case_id=case.id, _anchor="follow-ups")
    if (prior := form.replayed()) is not None:
        return already_saved(prior, back)
    if form.validate_on_submit():
        try:
            records.add_follow_up(current_user, case, records.FollowUpInput(
                due_on=form.due_on.data, done_on=form.done_on.data, notes=form.notes.data),
                form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, back)
        except CaseError as exc:
            fail(exc)
        return redirect(back)
    return case_page_again(access, follow_up_form=form)


@require(Permission.CASE_EDIT)
def follow_up_done(case_id: uuid.UUID, visit_id: uuid.UUID) -> Response:
    """Mark a planned follow-up as done today."""
    case = load_case(current_user, case_id, write=True, action=Action.FOLLOW_UP_UPDATE).case
    visit = child(FollowUp, case, visit_id, Action.FOLLOW_UP_UPDATE, ObjectType.FOLLOW_UP)
    form = forms.NoteForm()
    try:
        notes = form.body.data if form.validate_on_submit() else None
        records.complete_follow_up(current_user, case, visit, notes)
    except CaseError as exc:
        fail(exc)
    return redirect(url_for("cases.view", case_id=case.id, _anchor="follow-ups"))


@require(Permission.CASE_EDIT)
def note(case_id: uuid.UUID) -> str | Response:
    """Add a case note (refused: the case page, the message beside the field, the note typed
    kept)."""
    access = load_case(current_user, case_id, write=True, action=Action.NOTE_CREATE)
    case = access.case
    form = forms.NewNoteForm(context=case.id)
    back = url_for("cases.view", case_id=case.id, _anchor="notes")
    if (prior := form.replayed()) is not None:
        return already_saved(prior, back)
    if form.validate_on_submit():
        try:
            records.add_note(current_user, case, form.body.data or "", form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, back)
        except CaseError as exc:
            fail(exc)
        return redirect(back)
    return case_page_again(access, note_form=form)


def register(bp: Blueprint) -> None:
    """Add the record screens to the cases blueprint (called once, where it is made)."""
    get_post = ["GET", "POST"]
    bp.add_url_rule("/<uuid:case_id>/incidents/new", view_func=incident, methods=get_post)
    bp.add_url_rule("/<uuid:case_id>/incidents/<uuid:incident_id>", view_func=incident,
                    methods=get_post)
    bp.add_url_rule("/<uuid:case_id>/assessment", view_func=assessment, methods=get_post)
    bp.add_url_rule("/<uuid:case_id>/actions/new", view_func=action_item, methods=get_post)
    bp.add_url_rule("/<uuid:case_id>/actions/<uuid:item_id>", view_func=action_item,
                    methods=get_post)
    bp.add_url_rule("/<uuid:case_id>/follow-ups", view_func=follow_up, methods=["POST"])
    bp.add_url_rule("/<uuid:case_id>/follow-ups/<uuid:visit_id>/done", view_func=follow_up_done,
                    methods=["POST"])
    bp.add_url_rule("/<uuid:case_id>/notes", view_func=note, methods=["POST"])
