"""Case screens. Views stay thin: load through the scope, call a service, render.

Record loaders answer 404 for a case outside the user's scope exactly as for a missing one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.auth.stepup import step_up
from app.cases import consent as consents
from app.cases import forms, history_routes, queries, record_routes, search, service, transfer_routes, views
from app.cases.home_queries import need_choices
from app.cases.justifications import JustificationError
from app.cases.labels import CHOOSE, Domain, choices
from app.cases.models import STATUSES, BreakGlassGrant
from app.cases.route_support import case_page_again, fail
from app.cases.scopes import load_case
from app.cases.workflow import STATUS_LABELS
from app.clock import utcnow
from app.core.errors import CaseError
from app.core.ids import parse_uuid
from app.db import db
from app.directory.models import Site
from app.forms import fall_back
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("cases", __name__, url_prefix="/cases")
SEARCH_VALID = timedelta(minutes=30)



@bp.get("/")
@require(Permission.CASE_READ)
def index() -> str:
    """The user's cases: numbers, status, risk, site, worker and dates; never names."""
    f = forms.CaseFilterForm(request.args)
    f.status.choices = [("", _("Any"))] + [(s, STATUS_LABELS[s]) for s in STATUSES]
    f.risk.choices = [("", _("Any"))] + choices(Domain.RISK, ("high", "medium", "low", "unknown"))
    f.site.choices = [("", _("Any"))] + [(str(s.id), s.name) for s in current_user.sites]
    f.need.choices = [("", _("Any"))] + need_choices()
    fall_back(f)  # a refused filter is shown beside its field and not applied
    found = queries.case_page(current_user, status=f.status.data or None,
                              risk=f.risk.data or None, site_id=parse_uuid(f.site.data),
                              need=f.need.data or None, sort=f.sort.data or "-opened",
                              page=f.page.page, after=parse_uuid(request.args.get("after")),
                              before=parse_uuid(request.args.get("before")))
    audit.read(Action.CASE_LIST, ObjectType.CASE)
    return render_template("cases/list.html", rows=found.rows, total=found.total, filters=f,
                           previous=found.previous, next=found.next,
                           status_labels=STATUS_LABELS)


@bp.get("/tasks")
@require(Permission.CASE_READ)
def tasks() -> str:
    """Overdue goals and follow-ups, and urgent clinical incidents, in the user's cases."""
    audit.read(Action.TASKS_VIEW, ObjectType.CASE)
    return render_template("cases/tasks.html", **views.task_context(current_user))


@bp.route("/search", methods=["GET", "POST"])
@require(Permission.CASE_READ)
def search_cases() -> str | tuple[str, int]:
    """Search before create, by name, phone or case number (POST: nothing in the URL).

    Past the user's search limit nothing is searched: the form comes back with the message and
    429, and the search does not count as done before an intake.
    """
    form = forms.SearchForm()
    result = None
    if form.validate_on_submit():
        try:
            result = search.search(current_user, name=form.name.data, phone=form.phone.data,
                                   date_of_birth=form.date_of_birth.data,
                                   case_number=form.case_number.data)
        except search.SearchLimited as exc:
            flash(str(exc), "error")
            return render_template("cases/search.html", form=form, result=None), 429
        session["case_searched_at"] = utcnow().timestamp()
    return render_template("cases/search.html", form=form, result=result,
                           handoff=forms.HandOffForm(formdata=None))


def _searched_recently() -> bool:
    at = session.get("case_searched_at")
    return isinstance(at, float) and utcnow().timestamp() - at < SEARCH_VALID.total_seconds()


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.CASE_CREATE)
def new() -> str | Response:
    """Intake. Only after a search, so that duplicates are found first. A second POST of the
    same form (a retry after a lost answer) shows the case the first one opened.

    The search page's "Open a new case" posts the name, phone and date of birth just searched
    (``HandOffForm``): the intake form opens with them filled in, nothing in the URL."""
    if request.method == "POST" and "handoff" in request.form:
        return _handed_off()
    form = forms.NewCaseForm()
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("cases.view", case_id=prior.object_id))
    if not _searched_recently():
        flash(_("Search for an existing case before opening a new one."), "info")
        return redirect(url_for("cases.search_cases"))
    form.site.choices = [(str(s.id), s.name) for s in current_user.sites]
    if len(form.site.choices) > 1:  # several sites: none is chosen for the caseworker
        form.site.choices.insert(0, ("", CHOOSE))
    if form.validate_on_submit():
        site = db.session.get(Site, uuid.UUID(form.site.data))
        if site is None:
            abort(400)
        try:
            case = service.open_case(current_user, site, service.IdentityInput.of(form), form.submission)
        except AlreadySaved as done:  # the same form, sent twice at once: the other one won
            return already_saved(done.claim, url_for("cases.view", case_id=done.claim.object_id))
        except CaseError as exc:
            fail(exc)
        else:
            session.pop("case_searched_at", None)
            flash(_("Case %(n)s opened. Record consent next.", n=case.case_number), "info")
            return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/intake.html", form=form, case=None)


def _handed_off() -> str | Response:
    """The intake form, filled with what the search page handed over (a value that does not
    validate is left out; nothing is saved)."""
    if not _searched_recently():
        flash(_("Search for an existing case before opening a new one."), "info")
        return redirect(url_for("cases.search_cases"))
    hand = forms.HandOffForm()
    valid = hand.validate_on_submit()
    data = {} if not valid else {"full_name": hand.name.data or None,
                                 "phone": hand.phone.data or None,
                                 "date_of_birth": hand.date_of_birth.data}
    form = forms.NewCaseForm(formdata=None, data=data)
    form.issue_token()
    form.site.choices = [(str(s.id), s.name) for s in current_user.sites]
    return render_template("cases/intake.html", form=form, case=None)


@bp.get("/<uuid:case_id>")
@require(Permission.CASE_READ)
def view(case_id: uuid.UUID) -> str:
    """The whole case, decrypted. Recorded as ``case.view`` before anything is shown."""
    access = load_case(current_user, case_id)  # records case.view before anything is shown
    return render_template("cases/view.html", **views.case_context(current_user, access))


@bp.route("/<uuid:case_id>/edit", methods=["GET", "POST"])
@require(Permission.CASE_EDIT)
def edit(case_id: uuid.UUID) -> str | Response:
    """Edit identity and categories (a second save from an old copy is refused)."""
    case = load_case(current_user, case_id, write=True, action=Action.CASE_UPDATE).case
    form = forms.IntakeForm(data=views.identity_values(case) if request.method == "GET" else None)
    form.site.choices = [(str(case.site_id), case.site.name)]
    if request.method == "GET":
        form.site.data = str(case.site_id)
        form.version.data = str(case.version)
    elif form.validate_on_submit():
        try:
            service.update_identity(current_user, case, service.IdentityInput.of(form), form.version.data)
        except CaseError as exc:
            fail(exc, form)
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/intake.html", form=form, case=case)


@bp.post("/<uuid:case_id>/consent")
@require(Permission.CASE_EDIT)
def consent(case_id: uuid.UUID) -> str | Response:
    """Record consent (or its withdrawal); it takes effect at once. An answer the form refuses:
    the case page, the form as sent with the messages beside its fields; a rule of the service
    (no single field's): its message above the case page."""
    access = load_case(current_user, case_id, write=True, action=Action.CONSENT_RECORD)
    case = access.case
    form = forms.ConsentForm(context=case.id)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("cases.view", case_id=case.id, _anchor="consent"))
    form.kind.choices = views.consent_kinds()
    form.share_fields.choices = views.share_field_choices()
    if form.validate_on_submit():
        try:
            consents.record_consent(
                current_user, case, kind=form.kind.data, granted=form.granted.data == "yes",
                given_by=form.given_by.data, method=form.method.data,
                child_assent={"yes": True, "no": False}.get(form.child_assent.data or ""),
                caregiver_not_asked_reason=form.caregiver_not_asked_reason.data or None,
                share_fields=list(form.share_fields.data or []), once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("cases.view", case_id=case.id,
                                                     _anchor="consent"))
        except CaseError as exc:
            fail(exc)
        else:
            flash(_("Consent recorded."), "info")
        return redirect(url_for("cases.view", case_id=case.id, _anchor="consent"))
    return case_page_again(access, consent_form=form)


@bp.post("/<uuid:case_id>/status")
@require(Permission.CASE_EDIT)
def status(case_id: uuid.UUID) -> str | Response:
    """Move the case to the next or previous stage (refused: the case page, the message beside
    the field)."""
    access = load_case(current_user, case_id, write=True, action=Action.CASE_STATUS)
    case = access.case
    form = forms.StatusForm()
    # Any status code is accepted here: which moves are possible is the service's rule.
    form.to_status.choices = [(s, STATUS_LABELS[s]) for s in STATUSES]
    if form.validate_on_submit():
        try:
            service.change_status(current_user, case, form.to_status.data, form.version.data)
        except CaseError as exc:
            fail(exc)
        return redirect(url_for("cases.view", case_id=case.id))
    return case_page_again(access, status_form=form)


@bp.post("/<uuid:case_id>/closure")
@require(Permission.CASE_EDIT)
def closure_request(case_id: uuid.UUID) -> str | Response:
    """Ask for the case to be closed (a supervisor decides). An answer the form refuses: the
    case page, the request as sent with the messages beside its fields."""
    access = load_case(current_user, case_id, write=True, action=Action.CASE_CLOSURE_REQUEST)
    case = access.case
    form = forms.ClosureForm()
    if form.validate_on_submit():
        try:
            service.request_closure(current_user, case, form.reason.data, form.details.data,
                                    form.version.data)
        except CaseError as exc:
            fail(exc)
        else:
            flash(_("Closure requested. A supervisor will review it, with what is still open."),
                  "info")
        return redirect(url_for("cases.view", case_id=case.id))
    return case_page_again(access, closure_form=form)


@bp.post("/<uuid:case_id>/closure/decision")
@require(Permission.CASE_APPROVE)
def closure_decision(case_id: uuid.UUID) -> Response | str:
    """A supervisor approves or sends back a closure request (sending back needs a reason: if
    missing, the case page comes back with the message beside the field, nothing saved)."""
    access = load_case(current_user, case_id, write=True, action=Action.CASE_CLOSURE_APPROVE)
    case = access.case
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            service.decide_closure(current_user, case, form.decision.data == "approve",
                                   form.version.data, form.reason.data)
        except service.SendBackError as exc:
            form.reason.errors = [str(exc)]
            return case_page_again(access, decision_form=form)
        except CaseError as exc:
            fail(exc)
        else:
            flash(_("Closure approved: the case is closed.") if form.decision.data == "approve"
                  else _("Closure sent back to the caseworker with your reason."), "info")
    return redirect(url_for("cases.view", case_id=case.id))


@bp.post("/<uuid:case_id>/reopen")
@require(Permission.CASE_EDIT)
def reopen(case_id: uuid.UUID) -> str | Response:
    """Reopen a closed case, with a reason (refused: the case page, the messages beside the
    fields, the details typed kept)."""
    access = load_case(current_user, case_id, write=True, action=Action.CASE_REOPEN)
    case = access.case
    form = forms.ReopenForm()
    if form.validate_on_submit():
        try:
            service.reopen(current_user, case, form.reason.data, form.details.data, form.version.data)
        except CaseError as exc:
            fail(exc)
        return redirect(url_for("cases.view", case_id=case.id))
    return case_page_again(access, reopen_form=form)


@bp.post("/<uuid:case_id>/plan/approve")
@require(Permission.CASE_APPROVE)
def approve_plan(case_id: uuid.UUID) -> Response:
    """A supervisor approves the action plan."""
    case = load_case(current_user, case_id, write=True, action=Action.CASE_PLAN_APPROVE).case
    form = forms.DecisionForm()
    if form.validate_on_submit() and form.decision.data == "approve":
        try:
            service.approve_plan(current_user, case, form.version.data)
        except CaseError as exc:
            fail(exc)
    return redirect(url_for("cases.view", case_id=case.id, _anchor="plan"))


@bp.route("/<uuid:case_id>/assign", methods=["GET", "POST"])
@require(Permission.CASE_ASSIGN)
def assign(case_id: uuid.UUID) -> str | Response:
    """Assign or reassign the caseworkers of a case."""
    case = load_case(current_user, case_id, write=True, action=Action.CASE_ASSIGN).case
    workers = {str(w.id): w for w in queries.workers_for(current_user)}
    form = forms.AssignForm()
    form.primary.choices = [(i, w.display_name) for i, w in workers.items()]
    form.secondary.choices = [("", _("None"))] + form.primary.choices
    if request.method == "GET":
        form.primary.data = str(case.primary_worker_id)
        form.secondary.data = str(case.secondary_worker_id or "")
        form.version.data = str(case.version)
    elif form.validate_on_submit():
        try:
            service.assign(current_user, case, workers[form.primary.data],
                           workers.get(form.secondary.data or ""), form.version.data,
                           keep_previous={"yes": True, "no": False}.get(form.keep_previous.data
                                                                       or ""))
        except service.AssignError as exc:
            getattr(form, exc.field or "primary").errors = [str(exc)]
        except CaseError as exc:
            fail(exc, form)
        else:
            flash(_("Assignment saved."), "info")
            return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/assign.html", form=form, case=case)


@bp.route("/break-glass", methods=["GET", "POST"])
@require(Permission.CASE_BREAK_GLASS)
@step_up
def break_glass() -> str | Response:
    """Emergency read-only access to a case of the organisation outside one's sites."""
    form = forms.BreakGlassForm()
    if (prior := form.replayed()) is not None:
        return already_saved(prior, _granted_case_url(prior.object_id))
    if form.validate_on_submit():
        try:
            case = service.break_glass(current_user, form.case_number.data or "",
                                       form.reason_code.data, form.justification.data,
                                       form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, _granted_case_url(done.claim.object_id))
        except JustificationError as exc:
            # Beside the field, with nothing saved; the text stays in the form to be edited.
            (form.reason_code if exc.field == "code" else form.justification).errors = [str(exc)]
        except CaseError as exc:
            fail(exc)
        else:
            return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/break_glass.html", form=form)


def _granted_case_url(grant_id: uuid.UUID) -> str:
    """Where a retried break-glass request goes: the case its grant opened (the list if the
    grant is gone: the case was erased since)."""
    grant = db.session.get(BreakGlassGrant, grant_id)
    return url_for("cases.view", case_id=grant.case_id) if grant else url_for("cases.index")


@bp.route("/<uuid:case_id>/erase", methods=["GET", "POST"])
@require(Permission.CASE_ERASE)
@step_up
def erase(case_id: uuid.UUID) -> str | Response:
    """Erase a case at the survivor's request: its key is destroyed, a tombstone stays."""
    case = load_case(current_user, case_id, write=True, action=Action.CASE_ERASE).case
    form = forms.EraseForm()
    if form.validate_on_submit():
        if (form.confirm_number.data or "").strip().upper() != case.case_number:
            form.confirm_number.errors = [_("The case number does not match.")]
        else:
            number = case.case_number
            try:
                service.erase(current_user, case, form.reason.data)
            except CaseError as exc:  # someone saved the case meanwhile: try again
                fail(exc)
            else:
                flash(_("Case %(n)s has been erased.", n=number), "info")
                return redirect(url_for("cases.index"))
    return render_template("cases/erase.html", form=form, case=case)


record_routes.register(bp)  # the screens for the records inside a case
history_routes.register(bp)  # the history of changes and the printable summary
transfer_routes.register(bp)  # transfers to another organisation
