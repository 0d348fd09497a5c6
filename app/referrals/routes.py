"""Referral screens: the sender's (from a case) and the recipient's queue. Views stay thin."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.audit.actions import Action
from app.audit.writer import record
from app.auth.policy import Permission, require
from app.cases.justifications import OVERRIDE_REASONS, JustificationError, may_read_text
from app.cases.labels import Domain, label
from app.cases.scopes import load_case
from app.cases.service import consent_state
from app.core.errors import CaseError
from app.crypto.readable import readable
from app.db import db, transaction
from app.directory.models import Service
from app.referrals import fields, forms, queries, service
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("referrals", __name__, url_prefix="/referrals")


def _audit(action: Action, object_type: str, object_id: uuid.UUID | None = None) -> None:
    with transaction():
        record(action, object_type=object_type, object_id=object_id)


@bp.route("/new/<uuid:case_id>", methods=["GET", "POST"])
@require(Permission.REFERRAL_CREATE)
def new(case_id: uuid.UUID) -> str | Response:
    """Refer a case: choose the service, urgency and what to share (within the consent). A
    second POST of the same form shows the referral the first one sent."""
    case = load_case(current_user, case_id, write=True, action=Action.REFERRAL_CREATE).case
    form = forms.ReferralForm(context=case.id)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("referrals.sent_view", referral_id=prior.object_id))
    consent = consent_state(case)
    services = list(db.session.execute(
        select(Service).where(Service.active.is_(True)).order_by(Service.name)).scalars())
    form.service.choices = [
        (str(s.id), f"{s.name} ({s.organisation.name}) — {label(s.service_type, Domain.SERVICE_TYPE)} — "
         + (_("consent given") if consent.has("share", s.service_type) else _("no consent")))
        for s in services]
    allowed = sorted({c for rec in consent.share.values() if rec.granted
                      for c in fields.parse(rec.share_fields)}, key=fields.OPTIONAL.index)
    form.fields.choices = [(c, fields.LABELS[c]) for c in allowed]
    if form.validate_on_submit():
        try:
            referral = service.create(
                current_user, case, service_id=uuid.UUID(form.service.data),
                urgency=form.urgency.data or "normal", chosen=list(form.fields.data or []),
                message=form.message.data, override_code=form.override_code.data or None,
                override_text=form.override_reason.data, once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("referrals.sent_view",
                                                     referral_id=done.claim.object_id))
        except JustificationError as exc:
            # Beside the field, nothing saved (the refusal itself is audited, without the text).
            field = form.override_code if exc.field == "code" else form.override_reason
            field.errors = [str(exc)]
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Referral sent."), "info")
            return redirect(url_for("referrals.sent_view", referral_id=referral.id))
    return render_template("referrals/new.html", form=form, case=case, minimum=fields.MINIMUM,
                           labels=fields.LABELS)


@bp.get("/<uuid:referral_id>/sent")
@require(Permission.REFERRAL_CREATE)
def sent_view(referral_id: uuid.UUID) -> str:
    """The sender's view: status, history and outcome (never re-reads a revoked share)."""
    referral = queries.load_sent(current_user, referral_id)
    _audit(Action.REFERRAL_VIEW, "referral", referral.id)
    shared = fields.display(service.shared_values(referral)) if referral.status != "revoked" else []
    # The override's explanation is case data for supervisors; others see only the reason.
    why = service.override_justification(referral) if may_read_text(current_user) else None
    return render_template("referrals/sent.html", referral=referral, shared=shared,
                           history=readable(queries.history(referral), ("note",)),
                           labels=fields.LABELS,
                           label=label, form=forms.RevokeForm(),
                           override_reasons=OVERRIDE_REASONS, override_text=why)


@bp.post("/<uuid:referral_id>/revoke")
@require(Permission.REFERRAL_CREATE)
def revoke(referral_id: uuid.UUID) -> Response:
    """Revoke: the recipient's access ends at once and the share is destroyed."""
    referral = queries.load_sent(current_user, referral_id, Action.REFERRAL_REVOKE)
    form = forms.RevokeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.revoke(current_user, referral, form.reason.data or "no_longer_needed")
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
    _audit(Action.REFERRAL_LIST, "referral")
    return render_template("referrals/inbox.html", rows=rows, label=label)


@bp.get("/<uuid:referral_id>")
@require(Permission.REFERRAL_RECEIVE)
def received(referral_id: uuid.UUID) -> str:
    """A referral as the recipient sees it: only the shared fields and the message."""
    referral = queries.load_received(current_user, referral_id)
    _audit(Action.REFERRAL_VIEW, "referral", referral.id)
    form = forms.AnswerForm()
    form.version.data = str(referral.version)
    return render_template("referrals/received.html", referral=referral,
                           shared=fields.display(service.shared_values(referral)),
                           labels=fields.LABELS,
                           label=label, form=form)


@bp.post("/<uuid:referral_id>/<any(accept, decline, complete):op>")
@require(Permission.REFERRAL_RECEIVE)
def answer(referral_id: uuid.UUID, op: str) -> Response:
    """Accept, decline (with a reason) or complete (with an outcome note)."""
    action = service.ACTIONS[op]
    referral = queries.load_received(current_user, referral_id, action)
    form = forms.AnswerForm()
    if not form.validate_on_submit():
        flash(_("Nothing was changed: the note is too long or the form expired."), "error")
    else:
        try:
            service.answer(current_user, referral, op, form.note.data, form.version.data)
        except CaseError as exc:
            flash(str(exc), "error")
    return redirect(url_for("referrals.received", referral_id=referral.id))
