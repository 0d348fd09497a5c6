"""The receiving service's own work on a referral, on the referrals blueprint: referring the
survivor on, and recording the services given. Views stay thin: load (scoped to the user's
service, audited) → call the service → flash or show the page again with the errors."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit.actions import Action
from app.auth.policy import Permission, require
from app.cases.labels import Domain, label
from app.core.errors import CaseError
from app.referrals import fields, onward, onward_forms, queries, service, service_records
from app.referrals.labels import FIELDS
from app.referrals.routes import HELPERS, bp, received_page
from app.submissions.service import AlreadySaved, already_saved


@bp.route("/<uuid:referral_id>/onward", methods=["GET", "POST"])
@require(Permission.REFERRAL_RECEIVE)
def refer_on(referral_id: uuid.UUID) -> str | Response:
    """Refer the survivor on from a referral the user's service accepted: choose the service,
    then the urgency and what to pass on (what was received and is consented for that type)."""
    parent = queries.load_received(current_user, referral_id, Action.REFERRAL_REFER_ON)
    form = onward_forms.OnwardForm(context=parent.id)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("referrals.received", referral_id=parent.id))
    services = onward.targets(parent)
    form.service.choices = [("", _("Choose a service"))] + [
        (str(s.id), f"{s.name} ({s.organisation.name}) — {label(s.service_type, Domain.SERVICE_TYPE)}")
        for s in services]
    chosen = next((s for s in services if s.id == form.chosen_service_id()), None)
    offer = onward.offer(parent, chosen.service_type) if chosen is not None else None
    form.fields.choices = offer.choices() if offer is not None else []
    if not form.choose.data and form.validate_on_submit():  # the service audits a refusal
        try:
            onward.refer_on(current_user, parent, form.command(), once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("referrals.received", referral_id=parent.id))
        except service.ReferralError as exc:
            if exc.field is None:
                flash(str(exc), "error")
            else:
                getattr(form, exc.field).errors = [str(exc)]
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Referred on. The service is told; you see its status on this referral."),
                  "info")
            return redirect(url_for("referrals.received", referral_id=parent.id, _anchor="onward"))
    return render_template("referrals/onward.html", form=form, parent=parent,
                           minimum=fields.MINIMUM, labels=FIELDS, chosen=chosen is not None,
                           no_consent=offer is not None and not offer.consented,
                           may_refer_on=onward.may_refer_on(parent), **HELPERS)


@bp.post("/<uuid:referral_id>/services")
@require(Permission.REFERRAL_RECEIVE)
def record_service(referral_id: uuid.UUID) -> str | Response:
    """Record a service given on the referral; refused input comes back beside its field on the
    referral's page (status 200), nothing stored."""
    referral = queries.load_received(current_user, referral_id, Action.REFERRAL_SERVICE_RECORD)
    form = onward_forms.ServiceRecordForm(context=referral.id)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("referrals.received", referral_id=referral.id,
                                            _anchor="services"))
    if form.validate_on_submit():
        try:
            service_records.add(current_user, referral, form.command(), once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("referrals.received",
                                                     referral_id=referral.id, _anchor="services"))
        except service.ReferralError as exc:
            if exc.field is None:
                flash(str(exc), "error")
            else:
                getattr(form, exc.field).errors = [str(exc)]
                return received_page(referral, record_form=form)
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Service recorded."), "info")
            return redirect(url_for("referrals.received", referral_id=referral.id,
                                    _anchor="services"))
    else:
        return received_page(referral, record_form=form)
    return redirect(url_for("referrals.received", referral_id=referral.id, _anchor="services"))
