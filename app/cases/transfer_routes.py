"""The screens of a transfer between organisations (``app.cases.transfer``): the sender's
request (with its confirmation step) and cancellation, the receiving supervisors' list of
requests, and their answer. Registered on the cases blueprint by ``register``.

The receiving side sees only what it needs to decide: the case's clear categories, its incident
types, the urgency and the sending organisation; never the survivor's identity nor the sender's
case number (``decision_facts``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Permission, require
from app.cases import forms, queries
from app.cases import transfer as transfers
from app.cases.labels import CHOOSE, label
from app.cases.models import Case, CaseTransfer, Incident
from app.cases.route_support import fail
from app.cases.scopes import incoming_scope, load_case, load_transfer
from app.cases.transfer_requests import (
    CANCEL_LABELS,
    DECLINE_LABELS,
    STATUS_LABELS,
    URGENCY_LABELS,
    TransferUrgency,
    pending_for,
)
from app.core.ids import parse_uuid
from app.db import db
from app.directory.models import Organisation, Site
from app.submissions.service import AlreadySaved, already_saved


def _request_choices(form: forms.TransferForm) -> None:
    orgs = transfers.receiving_organisations(current_user)
    form.organisation.choices = [("", CHOOSE)] + [(str(o.id), o.name) for o in orgs]
    form.site.choices = [("", _("Any site of that organisation"))] + [
        (str(s.id), f"{o.name}: {s.name}") for o in orgs for s in o.sites if s.active]
    form.urgency.choices = [("", CHOOSE)] + [(u.value, URGENCY_LABELS[u])
                                             for u in TransferUrgency]


def _transfer_page(case: Case, form: forms.TransferForm, *, urgent: list[str] | None = None,
                   status: int = 200) -> tuple[str, int]:
    pending = pending_for(case)
    # The latest answer to an earlier request, so the sender learns a decline and its reason.
    last = None if pending else db.session.execute(
        select(CaseTransfer).where(CaseTransfer.case_id == case.id)
        .order_by(CaseTransfer.requested_at.desc(), CaseTransfer.id).limit(1)).scalar()
    shown = pending or last
    to = db.session.get(Organisation, shown.to_organisation_id) if shown else None
    return render_template("cases/transfer.html", case=case, form=form, pending=pending,
                           last=last, to=to, urgent=urgent or [], urgency_labels=URGENCY_LABELS,
                           answer_labels={**DECLINE_LABELS, **CANCEL_LABELS},
                           status_labels=STATUS_LABELS,
                           cancel_form=forms.TransferCancelForm()), status


def transfer_request(case_id: uuid.UUID) -> Any:
    """Ask another organisation to take the case (and confirm when an urgent referral is
    still unanswered)."""
    case = load_case(current_user, case_id, write=True,
                     action=Action.CASE_TRANSFER_REQUEST).case
    form = forms.TransferForm(context=case.id)
    _request_choices(form)
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("cases.transfer", case_id=case.id))
    if form.validate_on_submit():
        try:
            transfers.request(current_user, case,
                              organisation_id=parse_uuid(form.organisation.data),
                              site_id=parse_uuid(form.site.data) if form.site.data else None,
                              urgency=form.urgency.data, confirmed=form.confirmed.data == "yes",
                              once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("cases.transfer", case_id=case.id))
        except transfers.UrgentReferralOpen as warn:
            form.confirmed.data = "yes"  # the confirmation step: sent again as it is
            return _transfer_page(case, form, urgent=warn.items)
        except transfers.TransferError as exc:
            if exc.field is not None:
                getattr(form, exc.field).errors = [str(exc)]
            else:
                fail(exc)
        else:
            flash(_("The transfer request was sent. The case stays yours until the other "
                    "organisation accepts it."), "info")
            return redirect(url_for("cases.transfer", case_id=case.id))
    return _transfer_page(case, form)


def transfer_cancel(case_id: uuid.UUID) -> Response:
    """The sender withdraws the pending request."""
    case = load_case(current_user, case_id, write=True, action=Action.CASE_TRANSFER_CANCEL).case
    form = forms.TransferCancelForm()
    if form.validate_on_submit():
        try:
            transfers.cancel(current_user, case)
        except transfers.TransferError as exc:
            fail(exc)
        else:
            flash(_("The transfer request was cancelled."), "info")
    return redirect(url_for("cases.transfer", case_id=case.id))


def incoming() -> str:
    """The transfer requests waiting for the supervisor's organisation (no survivor identity)."""
    rows = db.session.execute(
        select(CaseTransfer).where(incoming_scope(current_user))
        .order_by(CaseTransfer.requested_at, CaseTransfer.id).limit(200)).scalars().all()
    audit.read(Action.CASE_TRANSFER_LIST, ObjectType.CASE_TRANSFER)
    facts = decision_facts(rows)
    return render_template("cases/transfers_incoming.html",
                           rows=[(r, facts[r.id]) for r in rows], urgency_labels=URGENCY_LABELS)


def decision_facts(rows: Sequence[CaseTransfer]) -> dict[uuid.UUID, dict[str, Any]]:
    """What a receiving supervisor sees of each request: the sending organisation, the
    requested site, the case's clear categories and its incident types (two queries)."""
    case_ids = [r.case_id for r in rows if r.case_id is not None]
    cases: dict[uuid.UUID | None, Any] = {c.id: c for c in db.session.execute(
        select(Case.id, Case.sex, Case.age_group, Case.is_child, Case.risk_level,
               Case.displacement_status, Case.disability).where(Case.id.in_(case_ids)))}
    types: dict[uuid.UUID | None, set[str]] = {}
    for cid, core in db.session.execute(select(Incident.case_id, Incident.core_type)
                                        .where(Incident.case_id.in_(case_ids))):
        types.setdefault(cid, set()).add(core)
    names = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({r.from_organisation_id for r in rows}))).all())
    sites: dict[uuid.UUID | None, str] = dict(db.session.execute(select(Site.id, Site.name).where(
        Site.id.in_([r.to_site_id for r in rows if r.to_site_id]))).all())
    return {r.id: {"case": cases.get(r.case_id), "incident_types": sorted(types.get(r.case_id, ())),
                   "from": names.get(r.from_organisation_id), "site": sites.get(r.to_site_id)}
            for r in rows}


def _decision_forms(transfer: CaseTransfer) -> tuple[forms.TransferAcceptForm,
                                                      forms.TransferDeclineForm,
                                                      dict[str, User]]:
    accept, decline = forms.TransferAcceptForm(), forms.TransferDeclineForm()
    sites = [s for s in current_user.sites
             if transfer.to_site_id is None or s.id == transfer.to_site_id]
    accept.site.choices = [("", CHOOSE)] + [(str(s.id), s.name) for s in sites]
    workers = {str(w.id): w for w in queries.workers_for(current_user)}
    accept.primary.choices = [("", CHOOSE)] + [(i, w.display_name) for i, w in workers.items()]
    decline.reason.choices = [("", CHOOSE)] + [(k.value, v) for k, v in DECLINE_LABELS.items()]
    return accept, decline, workers


def _decide_page(transfer: CaseTransfer, accept: Any, decline: Any) -> str:
    return render_template("cases/transfer_decide.html", transfer=transfer,
                           facts=decision_facts([transfer])[transfer.id], accept_form=accept,
                           decline_form=decline, urgency_labels=URGENCY_LABELS, label=label)


def transfer_decide(transfer_id: uuid.UUID) -> str:
    """One request, with what is needed to decide, and the two answers."""
    transfer = load_transfer(current_user, transfer_id)
    accept, decline, _workers = _decision_forms(transfer)
    return _decide_page(transfer, accept, decline)


def transfer_accept(transfer_id: uuid.UUID) -> str | Response:
    """Accept: the case moves here under a new key; the sender's is erased."""
    transfer = load_transfer(current_user, transfer_id, action=Action.CASE_TRANSFER_ACCEPT)
    accept, decline, workers = _decision_forms(transfer)
    if accept.validate_on_submit():
        site = next((s for s in current_user.sites if str(s.id) == accept.site.data), None)
        try:
            case = transfers.accept(current_user, transfer, site,
                                    workers.get(accept.primary.data or ""))
        except transfers.TransferError as exc:
            if exc.field is not None:
                getattr(accept, exc.field).errors = [str(exc)]
            else:
                fail(exc)
                return redirect(url_for("cases.transfers_incoming"))
        else:
            flash(_("The case was transferred to your organisation as %(n)s.",
                    n=case.case_number), "info")
            return redirect(url_for("cases.view", case_id=case.id))
    return _decide_page(transfer, accept, decline)


def transfer_decline(transfer_id: uuid.UUID) -> str | Response:
    """Decline with a reason code; the case stays with the sender, unchanged."""
    transfer = load_transfer(current_user, transfer_id, action=Action.CASE_TRANSFER_DECLINE)
    accept, decline, _workers = _decision_forms(transfer)
    if decline.validate_on_submit():
        try:
            transfers.decline(current_user, transfer, decline.reason.data)
        except transfers.TransferError as exc:
            if exc.field is not None:
                decline.reason.errors = [str(exc)]
            else:
                fail(exc)
                return redirect(url_for("cases.transfers_incoming"))
        else:
            flash(_("The transfer was declined."), "info")
            return redirect(url_for("cases.transfers_incoming"))
    return _decide_page(transfer, accept, decline)


def register(bp: Blueprint) -> None:
    """Add the transfer screens to the cases blueprint."""
    edit, assign = require(Permission.CASE_EDIT), require(Permission.CASE_ASSIGN)
    bp.add_url_rule("/<uuid:case_id>/transfer", "transfer", edit(transfer_request),
                    methods=["GET", "POST"])
    bp.add_url_rule("/<uuid:case_id>/transfer/cancel", "transfer_cancel",
                    edit(transfer_cancel), methods=["POST"])
    bp.add_url_rule("/transfers", "transfers_incoming", assign(incoming))
    bp.add_url_rule("/transfers/<uuid:transfer_id>", "transfer_decide", assign(transfer_decide))
    bp.add_url_rule("/transfers/<uuid:transfer_id>/accept", "transfer_accept",
                    assign(transfer_accept), methods=["POST"])
    bp.add_url_rule("/transfers/<uuid:transfer_id>/decline", "transfer_decline",
                    assign(transfer_decline), methods=["POST"])


