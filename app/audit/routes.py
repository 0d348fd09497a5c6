"""The auditor's workspace: search the trail, the history of one record, the activity of one
account, CSV export, verification and alerts. Auditors only (the policy grants ``audit:*`` to
no other role). Every view records what was looked at before showing it; pages hold ids and
metadata, never survivor data. Verification compares the trail with the checkpoint log kept
outside the database; its page and the alerts apply the checkpoint time rule first, then show
how old the newest checkpoint is (``app.audit.autocheckpoint``).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from app.audit import alerts as audit_alerts
from app.audit import autocheckpoint, forms, queries, service
from app.audit.actions import Action, ObjectType
from app.audit.checkpoint import Checkpoint, CheckpointError
from app.audit.export import csv_chunks
from app.audit.labels import action_label, object_type_label
from app.audit.reasons import reason_label
from app.audit.verify import VerifyResult
from app.auth.policy import Permission, require
from app.clock import utcnow
from app.extensions import real_app
from app.forms import KeysetForm

bp = Blueprint("audit", __name__, url_prefix="/audit")
bp.add_app_template_global(action_label, "action_label")
bp.add_app_template_global(object_type_label, "object_type_label")
bp.add_app_template_global(reason_label, "reason_label")
MAX_CHECKPOINT_BYTES = 16 * 1024


@bp.app_template_global("audit_history_url")
def history_url(object_type: str | None, object_id: str | None) -> str | None:
    """Link to a record's access history, when the event names a record that can have one.

    Many events name a type but no record (``case.list``, a refused break-glass) or a type the
    enum does not know (older rows): those get no link, and the page still shows them.
    """
    if not object_id or forms.known_object_type(object_type) is None:
        return None
    if forms.record_id(object_id) != object_id:
        return None
    return url_for("audit.record_history", object_type=object_type, object_id=object_id)


def _filter(form: forms.FilterForm) -> queries.EventFilter | None:
    """The validated filter, or None (with the form's errors set) when it matches nothing."""
    if not form.validate():
        return None
    actor_id = None
    if form.actor.data:
        actor_id = queries.resolve_actor(form.actor.data)
        if actor_id is None:
            form.actor.errors = [_("No account has this id or username.")]
            return None
    typed = forms.record_id(form.object_id.data)
    return form.to_filter(actor_id, queries.case_ids(typed) if typed else ())


def _page(f: queries.EventFilter | None) -> queries.Page:
    """The page of ``f`` the paging keys ask for; keys out of range show the newest events."""
    if f is None:
        return queries.Page([], None, None)
    keys = KeysetForm(request.args)
    if not keys.validate():
        flash(_("That page of the trail does not exist; the newest events are shown."), "error")
        return queries.events_page(f)
    return queries.events_page(f, before=keys.before.data, after=keys.after.data)


@bp.get("/events")
@require(Permission.AUDIT_READ)
def events() -> str:
    """Search and filter the trail, fifty events a page, newest first."""
    form = forms.FilterForm(request.args)
    f = _filter(form)
    service.read(Action.AUDIT_SEARCH, ObjectType.USER if f and f.actor_id else None,
                 f.actor_id if f else None,
                 reason=(f.summary() or "all") if f else "invalid_filter")
    return render_template("audit/events.html", form=form, page=_page(f),
                           args=form.query_args(), endpoint="audit.events",
                           link_args=form.query_args())


@bp.get("/objects/<object_type>/<object_id>")
@require(Permission.AUDIT_READ)
def record_history(object_type: str, object_id: str) -> str | BaseResponse:
    """Who touched one record, when, from where, and whether they were allowed; for a case or
    a record of a case, the case number beside the id."""
    kind = forms.known_object_type(object_type)
    if kind is None or forms.record_id(object_id) != object_id:
        abort(404)
    if kind == ObjectType.CASE:
        # A case number in the address: the history of that case, under its id.
        ids = queries.case_ids(object_id)
        if len(ids) == 1:
            return redirect(url_for("audit.record_history", object_type=object_type,
                                    object_id=ids[0]))
    service.read(Action.AUDIT_VIEW, kind, object_id, reason="record_history")
    f = queries.EventFilter(object_type=object_type, object_id=object_id)
    return render_template("audit/history.html", page=_page(f), object_type=object_type,
                           object_id=object_id, case=queries.case_number_of(object_type, object_id),
                           endpoint="audit.record_history",
                           link_args={"object_type": object_type, "object_id": object_id})


@bp.get("/users/<uuid:user_id>")
@require(Permission.AUDIT_READ)
def user_activity(user_id: uuid.UUID) -> str:
    """Everything one account did (events it is the actor of)."""
    service.read(Action.AUDIT_VIEW, ObjectType.USER, user_id, reason="user_activity")
    f = queries.EventFilter(actor_id=user_id)
    return render_template("audit/user.html", page=_page(f), user_id=user_id,
                           username=queries.username(user_id), endpoint="audit.user_activity",
                           link_args={"user_id": user_id})


@bp.post("/export")
@require(Permission.AUDIT_EXPORT)
def export() -> Response:
    """Download the filtered trail as CSV (formula cells neutralised); the export is recorded."""
    form = forms.FilterForm(request.form)
    f = _filter(form)
    if f is None:
        abort(400)
    service.read(Action.AUDIT_EXPORT, ObjectType.USER if f.actor_id else None, f.actor_id,
                 reason=f.summary() or "all")
    name = f"amana-audit-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    return Response(stream_with_context(csv_chunks(queries.export_batches(f))),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _uploaded(files: list[Any]) -> list[bytes]:
    texts = []
    for item in files:
        if not isinstance(item, FileStorage) or not item.filename:
            continue
        data = item.stream.read(MAX_CHECKPOINT_BYTES + 1)
        if len(data) > MAX_CHECKPOINT_BYTES:
            raise CheckpointError("a checkpoint file is too large")
        texts.append(data)
    return texts


def _logged() -> tuple[list[Checkpoint], int]:
    """The checkpoints in the instance's checkpoint log, and how many of its lines do not
    verify (the auditor is told)."""
    try:
        read = service.read_log()
    except OSError:
        flash(_("The checkpoint file cannot be read; the trail was verified without it."),
              "error")
        return [], 0
    if read.bad:
        flash(ngettext("%(num)d line of the checkpoint file is not a valid checkpoint (first: "
                       "line %(line)d).",
                       "%(num)d lines of the checkpoint file are not valid checkpoints (first: "
                       "line %(line)d).", len(read.bad), line=read.bad[0].number), "error")
    return read.checkpoints, len(read.bad)


@bp.route("/verify", methods=["GET", "POST"])
@require(Permission.AUDIT_VERIFY)
def verify() -> str:
    """Verify the whole trail, against the checkpoint log and any uploaded checkpoints, and
    show the result; the page also shows how old the newest checkpoint is."""
    form = forms.VerifyForm()
    result: VerifyResult | None = None
    if form.validate_on_submit():
        try:
            checkpoints = service.read_checkpoints(_uploaded(form.checkpoints.data or []),
                                                   via="web")
        except CheckpointError as exc:
            flash(_("Checkpoint refused: %(problem)s.", problem=str(exc)), "error")
        else:
            logged, bad_lines = _logged()
            result = service.run_verification(checkpoints + logged)
            service.record_verification(result, via="web", bad_lines=bad_lines)
    elif request.method == "POST":
        abort(400)
    else:
        service.read(Action.AUDIT_VIEW, ObjectType.AUDIT_CHAIN, reason="verify_page")
    return render_template("audit/verify.html", form=form, result=result,
                           runs=queries.recent_runs(), checkpoint=autocheckpoint.refresh(),
                           every=current_app.config["AUDIT_CHECKPOINT_EVENTS"])


@bp.get("/alerts")
@require(Permission.AUDIT_READ)
def alerts() -> str:
    """Patterns worth a look: denial bursts, many cases opened, break-glass, after-hours work,
    failed verification, a missing or stale checkpoint."""
    service.read(Action.AUDIT_ALERTS_VIEW, reason="alerts")
    autocheckpoint.on_time(real_app())
    found = audit_alerts.compute()
    return render_template("audit/alerts.html", found=found,
                           settings={k: audit_alerts.setting(k) for k in audit_alerts.DEFAULTS})
