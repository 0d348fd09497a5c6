"""Pending field intakes: the list, search before create, and opening or merging a case (on
``app.field.routes.bp``).

The review page opens the intake into the online forms (problems beside the fields), runs the
search for existing cases with its name, phone and date of birth at once (rate-limited and
audited like the search page), and offers "Open a new case", "Add to this case" for each
likely duplicate, and "Discard". Opening or adding needs that search, done on the page within
the last half hour. Decisions post the fields as shown, so corrections are kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.auth.stepup import step_up
from app.cases import gbvims, search
from app.cases.labels import CHOOSE
from app.cases.records import IncidentError
from app.cases.scopes import load_case
from app.clock import utcnow
from app.core.errors import CaseError
from app.core.ids import parse_uuid
from app.db import db
from app.directory.models import Site
from app.field import payload, review
from app.field.forms import INCIDENT, FieldIntakeForms
from app.field.loaders import load_intake
from app.field.models import FieldIntake, IntakeStatus
from app.field.review_forms import DiscardForm, MergeForm, OpenCaseForm
from app.field.routes import bp
from app.localtime import organisation_zone_name
from app.submissions.service import AlreadySaved, already_saved

SEARCHED = "field_intake_searched"  # session: "<intake id>:<timestamp>" of the last search
SEARCH_VALID = timedelta(minutes=30)


@bp.get("/intakes")
@require(Permission.CASE_CREATE)
def intakes() -> str:
    """The user's pending field intakes, urgent clinical ones first with their countdown."""
    rows = review.pending(current_user)
    audit.read(Action.FIELD_INTAKES_LIST, ObjectType.FIELD_INTAKE)
    return render_template("field/intakes.html", rows=rows)


@bp.get("/intakes/<uuid:intake_id>")
@require(Permission.CASE_CREATE)
def intake(intake_id: uuid.UUID) -> str | Response:
    """One intake to review: its fields, their problems, and the likely existing cases."""
    found = load_intake(current_user, intake_id)  # records the view
    if found.status != IntakeStatus.PENDING:
        return _decided(found, Action.FIELD_INTAKE_VIEW)
    return _page(found, payload.read(found), _open_form(found))


@bp.post("/intakes/<uuid:intake_id>/open")
@require(Permission.CASE_CREATE)
def open_case(intake_id: uuid.UUID) -> str | Response | tuple[str, int]:
    """Open a new case from the intake (the fields as posted, corrected if need be)."""
    found = load_intake(current_user, intake_id, action=Action.FIELD_INTAKE_OPEN_CASE)
    form = _open_form(found)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("cases.view", case_id=prior.object_id))
    if found.status != IntakeStatus.PENDING:
        return _decided(found, Action.FIELD_INTAKE_OPEN_CASE)
    if not _searched(found):
        return _search_first(found)
    forms = _posted(found)
    valid = form.validate_on_submit()
    if forms.validate() and valid:
        site = db.session.get(Site, uuid.UUID(form.site.data))
        if site is None:
            abort(400)
        try:
            made = _decide(forms, lambda: review.open_case(current_user, found, site,
                                                           form.submission, forms=forms))
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("cases.view", case_id=done.claim.object_id))
        if isinstance(made, Response):
            return made
        if made is not None:
            flash(_("Case %(n)s opened from the field intake.", n=made.case_number), "info")
            return redirect(url_for("cases.view", case_id=made.id))
    return _page(found, forms, form), 200


def _decide(forms: FieldIntakeForms, act: Callable[[], Any]) -> Any:
    """Run a decision on an intake: what it returns when done; a redirect to the list when
    another request decided first; None (the message beside its field or at the top) to show
    the page again."""
    try:
        done = act()
    except IncidentError as exc:
        _beside(forms, exc)
    except review.AlreadyDecided as exc:
        flash(str(exc), "error")
        return redirect(url_for("field.intakes"))
    except CaseError as exc:
        flash(str(exc), "error")
    else:
        session.pop(SEARCHED, None)
        return done
    return None


@bp.post("/intakes/<uuid:intake_id>/merge")
@require(Permission.CASE_CREATE)
def merge(intake_id: uuid.UUID) -> str | Response | tuple[str, int]:
    """Add the intake to one of the user's cases (the one whose button was pressed)."""
    found = load_intake(current_user, intake_id, action=Action.FIELD_INTAKE_MERGE)
    if found.status != IntakeStatus.PENDING:
        return _decided(found, Action.FIELD_INTAKE_MERGE)
    chosen = MergeForm()
    if not chosen.validate_on_submit():
        flash(_("Choose the case to add this intake to."), "error")
        return redirect(url_for("field.intake", intake_id=found.id))
    case_id = parse_uuid(chosen.case.data)
    if case_id is None:
        audit.deny_404(Action.FIELD_INTAKE_MERGE, ObjectType.CASE, None)
    target = load_case(current_user, case_id, write=True, action=Action.FIELD_INTAKE_MERGE).case
    if not _searched(found):
        return _search_first(found)
    forms = _posted(found)
    if forms.validate():
        done = _decide(forms, lambda: review.merge(current_user, found, target, forms=forms))
        if isinstance(done, Response):
            return done
        if done is not None:
            flash(_("The field intake was added to case %(n)s.", n=target.case_number), "info")
            return redirect(url_for("cases.view", case_id=target.id))
    return _page(found, forms, _open_form(found, fresh=True)), 200


@bp.post("/intakes/<uuid:intake_id>/discard")
@require(Permission.CASE_CREATE)
@step_up  # destroys what was captured: a stale session confirms it is the caseworker first
def discard(intake_id: uuid.UUID) -> str | Response | tuple[str, int]:
    """Discard the intake, with a reason and a confirmation; nothing of it is kept."""
    found = load_intake(current_user, intake_id, action=Action.FIELD_INTAKE_DISCARD)
    if found.status != IntakeStatus.PENDING:
        return _decided(found, Action.FIELD_INTAKE_DISCARD)
    form = DiscardForm()
    if form.validate_on_submit():
        try:
            review.discard(current_user, found, form.reason.data)
        except CaseError as exc:
            flash(str(exc), "error")
            return redirect(url_for("field.intakes"))
        flash(_("The field intake was discarded."), "info")
        return redirect(url_for("field.intakes"))
    return _page(found, payload.read(found), _open_form(found, fresh=True), discard=form), 200


# --- Page parts ----------------------------------------------------------------------------

def _open_form(found: FieldIntake, *, fresh: bool = False) -> OpenCaseForm:
    form = OpenCaseForm(context=found.id)
    if fresh:
        form.issue_token()
    form.site.choices = [(str(s.id), s.name) for s in current_user.sites]
    if len(form.site.choices) > 1:  # several sites: none is chosen for the caseworker
        form.site.choices.insert(0, ("", CHOOSE))
    return form


def _posted(found: FieldIntake) -> FieldIntakeForms:
    """The intake's fields as the page posted them (the reported date is the capture date)."""
    return FieldIntakeForms(payload.with_capture_date(found, MultiDict(request.form)))


def _beside(forms: FieldIntakeForms, exc: IncidentError) -> None:
    """A refusal of the incident service beside the field it names (else above the page)."""
    target = forms.incident.field_named(f"{INCIDENT}-{exc.field}")
    if target is None:
        flash(str(exc), "error")
    else:
        target.errors = [*target.errors, str(exc)]


def _decided(found: FieldIntake, action: Action) -> Response:
    """An intake already dealt with: say so, change nothing (the attempt is audited)."""
    audit.denied(action, ObjectType.FIELD_INTAKE, found.id, reason="already_decided")
    flash(str(review.AlreadyDecided()), "info")
    return redirect(url_for("field.intakes"))


def _searched(found: FieldIntake) -> bool:
    mark = str(session.get(SEARCHED, ""))
    said_id, _sep, at = mark.partition(":")
    try:
        fresh = utcnow().timestamp() - float(at) < SEARCH_VALID.total_seconds()
    except ValueError:
        return False
    return said_id == str(found.id) and fresh


def _search_first(found: FieldIntake) -> Response:
    flash(_("Search for an existing case before opening a new one."), "info")
    return redirect(url_for("field.intake", intake_id=found.id))


def _search(found: FieldIntake, forms: FieldIntakeForms) -> tuple[Any, str | None]:
    """Search before create with the intake's name, phone and date of birth (rate-limited and
    audited by ``app.cases.search``); marks the search as done for this intake."""
    person = forms.person
    name, phone = person.full_name.data or None, person.phone.data or None
    born = person.date_of_birth.data if not person.date_of_birth.errors else None
    if not (name or phone or born):
        session[SEARCHED] = f"{found.id}:{utcnow().timestamp()}"
        return search.SearchResult(), None
    try:
        result = search.search(current_user, name=name, phone=phone, date_of_birth=born)
    except search.SearchLimited as exc:
        return None, str(exc)
    session[SEARCHED] = f"{found.id}:{utcnow().timestamp()}"
    return result, None


def _page(found: FieldIntake, forms: FieldIntakeForms, open_form: OpenCaseForm,
          discard: DiscardForm | None = None) -> str:
    result, limited = _search(found, forms)
    now = utcnow()
    ends = found.window_ends_at
    return render_template(
        "field/intake.html", intake=found, forms=forms, open_form=open_form,
        merge_form=MergeForm(formdata=None), discard_form=discard or DiscardForm(formdata=None),
        result=result, limited=limited, problems=forms.errors,
        hours_left=int((ends - now).total_seconds() // 3600) if ends and ends > now else None,
        classification=gbvims.CLASSIFICATION,
        zone_name=organisation_zone_name(found.organisation_id))
