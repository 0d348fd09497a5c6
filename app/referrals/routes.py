"""Referral screens: the sender's (from a case) and the recipient's queue. Views stay thin."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.auth.stepup import step_up
from app.cases.justifications import OVERRIDE_REASONS, JustificationError
from app.cases.labels import Domain, label
from app.cases.scopes import load_case
from app.core import hooks
from app.core.errors import CaseError
from app.crypto.readable import readable
from app.printing import printable
from app.referrals import fields, forms, provider_views, queries, service
from app.referrals.labels import (
    FIELDS,
    not_provided_label,
    outcome_label,
    status_label,
    step_reason_label,
    urgency_label,
)
from app.referrals.models import Referral
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("referrals", __name__, url_prefix="/referrals")
# Labels the templates show: service types (cases' codes), then the referral domain's own.
HELPERS = {"label": label, "status_label": status_label, "urgency_label": urgency_label,
           "outcome_label": outcome_label, "not_provided_label": not_provided_label,
           "step_reason_label": step_reason_label}


def overrides_consent(_args: Mapping[str, Any], form: Mapping[str, str]) -> bool:
    """A referral sent with a supervisor's consent override (a reason chosen), not the step
    that only chooses the service: a dangerous action (``app.auth.stepup``)."""
    return bool(form.get("override_code")) and not form.get("choose")


@bp.route("/new/<uuid:case_id>", methods=["GET", "POST"])
@require(Permission.REFERRAL_CREATE)
@step_up(when=overrides_consent)
def new(case_id: uuid.UUID) -> str | Response:
    """Refer a case: choose the service, then the urgency and what to share (only the fields
    the consent allows for that type of service). A second POST of the same form shows the
    referral the first one sent."""
    case = load_case(current_user, case_id, write=True, action=Action.REFERRAL_CREATE).case
    form = forms.ReferralForm(context=case.id)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("referrals.sent_view", referral_id=prior.object_id))
    offer_for = service.offers(case)
    services = queries.active_services()
    form.service.choices = [("", _("Choose a service"))] + [
        (str(s.id), f"{s.name} ({s.organisation.name}) — {label(s.service_type, Domain.SERVICE_TYPE)} — "
         + (_("consent given") if offer_for(s.service_type).consented else _("no consent")))
        for s in services]
    if request.method == "GET" and request.args.get("service") in dict(form.service.choices):
        form.service.data = request.args["service"]
    chosen = next((s for s in services if s.id == form.chosen_service_id()), None)
    offer = offer_for(chosen.service_type) if chosen is not None else None
    form.fields.choices = offer.choices() if offer is not None else []
    # The case's attached files, one tick each, only when the consent covers them.
    form.attachments.choices = ([pair for found in hooks.referral_shareables.collect(case=case)
                                 for pair in found] if offer is not None and offer.attachments
                                else [])
    if not form.choose.data and form.validate_on_submit():
        try:
            referral = service.create(current_user, case, form.command(), once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("referrals.sent_view",
                                                     referral_id=done.claim.object_id))
        except JustificationError as exc:
            # Beside the field, nothing saved (the refusal itself is audited, without the text).
            field = form.override_code if exc.field == "code" else form.override_reason
            field.errors = [str(exc)]
        except service.FieldsOutsideConsent as exc:
            form.fields.errors = [str(exc)]  # beside the fields, naming them; nothing saved
        except CaseError as exc:
            if getattr(exc, "field", None) == "attachments":
                form.attachments.errors = [str(exc)]  # beside the files; nothing saved
            else:
                flash(str(exc), "error")
        else:
            flash(_("Referral sent."), "info")
            return redirect(url_for("referrals.sent_view", referral_id=referral.id))
    return render_template("referrals/new.html", form=form, case=case, minimum=fields.MINIMUM,
                           labels=FIELDS, chosen=chosen is not None,
                           needs_override=offer is not None and not offer.consented)


@bp.get("/<uuid:referral_id>/sent")
@require(Permission.REFERRAL_CREATE)
def sent_view(referral_id: uuid.UUID) -> str:
    """The sender's view: status, history and outcome (never re-reads a revoked share)."""
    referral = queries.load_sent(current_user, referral_id)  # the read is recorded there
    # The override's explanation is case data for supervisors; others see only the reason.
    return render_template(
        "referrals/sent.html", referral=referral,
        shared=fields.display(service.shared_values(referral)),
        history=readable(queries.history(referral), ("note",)),
        message=service.sent_message(referral),
        form=forms.RevokeForm(), may_revoke=service.may_revoke(referral),
        override_reason=(OVERRIDE_REASONS.get(referral.override_code, referral.override_code)
                         if referral.override_code else ""),
        override_text=service.override_justification(current_user, referral), **HELPERS,
        **_contributions(referral), **provider_views.sent_sections(referral))


def _printed(referral: Referral) -> Response:
    """The inter-agency referral form: exactly the fields the referral shared (the values both
    its pages show), the message and what the receiving service needs to answer it."""
    return printable("referrals/print.html", referral=referral,
                     shared=fields.display(service.shared_values(referral)),
                     message=service.sent_message(referral), **HELPERS)


@bp.get("/<uuid:referral_id>/sent/print")
@require(Permission.REFERRAL_CREATE)
def print_sent(referral_id: uuid.UUID) -> Response:
    """The referral form, printed by the sender (recorded as a print)."""
    return _printed(queries.load_sent(current_user, referral_id, Action.REFERRAL_PRINT))


@bp.get("/<uuid:referral_id>/print")
@require(Permission.REFERRAL_RECEIVE)
def print_received(referral_id: uuid.UUID) -> Response:
    """The referral form, printed by the service that received it (recorded as a print)."""
    return _printed(queries.load_received(current_user, referral_id, Action.REFERRAL_PRINT))


@bp.post("/<uuid:referral_id>/revoke")
@require(Permission.REFERRAL_CREATE)
def revoke(referral_id: uuid.UUID) -> Response:
    """Revoke: the recipient's access ends at once and the share is destroyed."""
    referral = queries.load_sent(current_user, referral_id, Action.REFERRAL_REVOKE)
    form = forms.RevokeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.revoke(current_user, referral, form.command())
    except CaseError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Referral revoked. The service can no longer see it."), "info")
    return redirect(url_for("referrals.sent_view", referral_id=referral.id))


@bp.get("/inbox")
@require(Permission.REFERRAL_RECEIVE)
def inbox() -> str:
    """The service's queue of referrals."""
    rows = queries.inbox(current_user, include_closed=True)
    audit.read(Action.REFERRAL_LIST, ObjectType.REFERRAL)
    return render_template("referrals/inbox.html", rows=rows, **HELPERS)


@bp.get("/<uuid:referral_id>")
@require(Permission.REFERRAL_RECEIVE)
def received(referral_id: uuid.UUID) -> str:
    """A referral as the recipient sees it: only the shared fields and the message."""
    referral = queries.load_received(current_user, referral_id)  # the read is recorded there
    form = forms.AnswerForm()
    form.version.data = referral.version
    return _received_page(referral, form)


def _contributions(referral: Referral) -> dict[str, Any]:
    """The names other features add to a referral's pages (``hooks.referral_page``)."""
    merged: dict[str, Any] = {}
    for part in hooks.referral_page.collect(referral=referral, user=current_user):
        merged.update(part)
    return merged


def received_page(referral: Referral, **refused: Any) -> str:
    """The recipient's page shown again with one of its other forms as refused (``record_form``,
    errors beside its fields) and a blank answer form."""
    form = forms.AnswerForm(formdata=None)
    form.version.data = referral.version
    return _received_page(referral, form, **refused)


def _received_page(referral: Referral, form: forms.AnswerForm, **refused: Any) -> str:
    """The recipient's page: the share, the sender's message, the answers the service gave
    (their notes decrypted), the answer form, and the service's own work on it (services
    given, onward referrals: ``provider_views.received_sections``)."""
    return render_template("referrals/received.html", referral=referral,
                           **_contributions(referral),
                           shared=fields.display(service.shared_values(referral)),
                           answers=readable(service.answers(referral), ("note",)),
                           form=form, **HELPERS, **{f"may_{op}": service.may_answer(referral, op)
                                                    for op in service.AnswerOp},
                           **provider_views.received_sections(referral, **refused))


@bp.post("/<uuid:referral_id>/<any(accept, decline, complete):op>")
@require(Permission.REFERRAL_RECEIVE)
def answer(referral_id: uuid.UUID, op: str) -> Response | str:
    """Accept, decline (with a reason) or complete (with an outcome, confirmed by a tick). A
    refusal tied to a field comes back beside it, the input kept, nothing saved; a done answer
    says so and the page shows the new state."""
    step = service.AnswerOp(op)
    referral = queries.load_received(current_user, referral_id, service.ACTIONS[step])
    form = forms.AnswerForm()
    if not form.validate_on_submit():
        flash(_("Nothing was changed: the note is too long or the form expired."), "error")
    elif not form.confirmed(step):
        # Refused for want of the tick: say at once what else the service would refuse.
        if (problem := service.answer_problem(form.command(step))) and problem.field:
            getattr(form, problem.field).errors = [str(problem)]
        return _received_page(referral, form)
    else:
        try:
            service.answer(current_user, referral, form.command(step))
        except service.ReferralError as exc:
            if exc.field is None:
                flash(str(exc), "error")
            else:
                getattr(form, exc.field).errors = [str(exc)]
                return _received_page(referral, form)
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash(DONE[step], "info")
    return redirect(url_for("referrals.received", referral_id=referral.id))


#: What the recipient is told once an answer is saved (the page then shows the new status).
DONE = {
    service.AnswerOp.ACCEPT: _l("Referral accepted. The caseworker can see it now; complete "
                                "it with the outcome once the service is given."),
    service.AnswerOp.DECLINE: _l("Referral declined. The caseworker sees your reason."),
    service.AnswerOp.COMPLETE: _l("Referral completed. The caseworker sees the outcome."),
}
