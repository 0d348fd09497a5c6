"""Safe-space screens. Views stay thin: load through the scope, call a service, render.

Coordinators log and read the sessions of their own safe spaces; programme managers see monthly
summaries only; admins keep the list of activity types. Records outside a user's scope answer
404 exactly like missing ones, and the attempt is audited.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, can, require
from app.core import barchart
from app.db import db
from app.i18n import RTL_LANGUAGES, select_locale
from app.localtime import today, user_zone
from app.safe_space import figures, forms, queries, rules, service
from app.safe_space import summary as charts
from app.safe_space.labels import kind_label, type_label
from app.safe_space.models import ActivityType, WgssSession
from app.safe_space.scopes import load_session, load_space, spaces_for
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("safe_space", __name__, url_prefix="/safe-spaces")
HELPERS = {"type_label": type_label, "kind_label": kind_label, "bands": rules.BANDS}


def _month() -> tuple[forms.MonthForm, date | None]:
    """The month asked for (``?month=YYYY-MM``), this month by default; None if invalid."""
    form = forms.MonthForm(request.args)
    if not form.validate():
        return form, None
    month = form.month.data or today(user_zone()).replace(day=1)
    form.month.data = month
    return form, month


def _neighbours(month: date) -> dict[str, Any]:
    first, nxt = queries.month_bounds(month)
    prev = queries.month_bounds(date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1))[0]
    return {"prev_month": prev.strftime("%Y-%m"), "next_month": nxt.strftime("%Y-%m"),
            "month_key": first.strftime("%Y-%m"), "future": nxt > today(user_zone()),
            "month_label": format_date(first, "MMMM y")}


def _show(form: Any, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        if name == rules.TOTAL_FIELD or not hasattr(form, name):
            form.form_errors.append(message)
        else:
            getattr(form, name).errors = [message]


def _prepare(form: forms.SessionForm, current: WgssSession | None = None) -> None:
    spaces = spaces_for(current_user, logs=True)
    form.spaces = {str(s.id): s for s in spaces}
    form.current_space_id = current.safe_space_id if current else None
    form.safe_space.choices = [
        (str(s.id), s.name) for s in spaces
        if rules.takes_sessions(s, current_space_id=current.safe_space_id if current else None)]
    form.activity_type.choices = [("", _("Choose an activity"))] + [
        (str(t.id), type_label(t))
        for t in queries.activity_types(include=current.activity_type_id if current else None)]
    form.facilitators.choices = [(str(u.id), u.display_name) for u in queries.facilitators(
        current_user, include=current.facilitators if current else None)]


def _values_of(entry: WgssSession) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(entry, name) for name in rules.ALL_COUNTS + (
        "held_on", "topic", "outreach_area", "duration_minutes", "notes", "version")}
    values.update(safe_space=str(entry.safe_space_id), activity_type=str(entry.activity_type_id),
                  facilitators=[str(u.id) for u in entry.facilitators])
    return values


@bp.get("/")
@require(Permission.WGSS_SUMMARY)
def index() -> str:
    """The safe spaces in the user's scope, with their logs (coordinators) and summaries."""
    can_log = can(current_user, Permission.WGSS_LOG)
    spaces = spaces_for(current_user, logs=can_log)
    audit.read(Action.SAFE_SPACE_LIST, ObjectType.SAFE_SPACE)
    return render_template("safe_space/index.html", spaces=spaces, can_log=can_log, **HELPERS)


@bp.get("/<uuid:space_id>/sessions")
@require(Permission.WGSS_LOG)
def sessions(space_id: uuid.UUID) -> str:
    """A month of one safe space's session logs (no notes are shown or decrypted here)."""
    space = load_space(current_user, space_id, logs=True, action=Action.WGSS_SESSION_LIST)
    month_form, month = _month()
    rows = queries.sessions_in(space, month) if month else []
    audit.read(Action.WGSS_SESSION_LIST, ObjectType.SAFE_SPACE, space.id,
                         reason=f"month:{month:%Y-%m}" if month else "invalid_month")
    return render_template("safe_space/sessions.html", space=space, rows=rows,
                           month_form=month_form, month=month,
                           may_log=rules.takes_sessions(space),
                           **(_neighbours(month) if month else {}), **HELPERS)


@bp.route("/sessions/new", methods=["GET", "POST"])
@require(Permission.WGSS_LOG)
def new_session() -> str | BaseResponse:
    """Log a session: what, when, who facilitated, and how many came (never who). A second
    POST of the same form shows the session the first one logged."""
    form = forms.NewSessionForm()
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("safe_space.view_session", session_id=prior.object_id))
    _prepare(form)
    if request.method == "GET":
        wanted = request.args.get("space", "")
        if wanted in dict(form.safe_space.choices or []):
            form.safe_space.data = wanted
        form.held_on.data = today(user_zone())
        form.facilitators.data = [str(current_user.id)]
        # The form lists the user's safe spaces and the organisation's staff.
        audit.read(Action.SAFE_SPACE_LIST, ObjectType.SAFE_SPACE, reason="session_form")
    elif form.validate_on_submit():
        try:
            entry = service.save_session(current_user, form.command(), once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("safe_space.view_session",
                                                     session_id=done.claim.object_id))
        except service.SessionInvalid as exc:
            _show(form, exc.errors)
        else:
            flash(_("Session saved."), "info")
            return redirect(url_for("safe_space.view_session", session_id=entry.id))
    elif (refused := form.refused_space_id()) is not None:
        audit.denied(Action.WGSS_SESSION_CREATE, ObjectType.SAFE_SPACE, refused)
    return render_template("safe_space/session_form.html", form=form, entry=None, stale=False,
                           **HELPERS)


@bp.get("/sessions/<uuid:session_id>")
@require(Permission.WGSS_LOG)
def view_session(session_id: uuid.UUID) -> str:
    """One session log, its notes decrypted (recorded before anything is shown)."""
    entry = load_session(current_user, session_id, action=Action.WGSS_SESSION_VIEW)
    return render_template("safe_space/session_view.html", entry=entry, notes=entry.notes,
                           **HELPERS)


@bp.route("/sessions/<uuid:session_id>/edit", methods=["GET", "POST"])
@require(Permission.WGSS_LOG)
def edit_session(session_id: uuid.UUID) -> str | BaseResponse:
    """Correct a session log; a save based on an old copy is refused, the input kept."""
    entry = load_session(current_user, session_id, action=Action.WGSS_SESSION_UPDATE)
    form = forms.SessionForm(data=_values_of(entry) if request.method == "GET" else None)
    _prepare(form, entry)
    stale = False
    if request.method == "GET":
        pass  # the read is recorded by load_session
    elif form.validate_on_submit():
        try:
            service.save_session(current_user, form.command(), entry, form.version.data)
        except service.SessionInvalid as exc:
            _show(form, exc.errors)
        except service.SafeSpaceStale as exc:
            flash(str(exc), "error")
            form.version.data = exc.current_version
            stale = True
        else:
            flash(_("Session saved."), "info")
            return redirect(url_for("safe_space.view_session", session_id=entry.id))
    elif (refused := form.refused_space_id()) is not None:
        audit.denied(Action.WGSS_SESSION_UPDATE, ObjectType.SAFE_SPACE, refused)
    return render_template("safe_space/session_form.html", form=form, entry=entry, stale=stale,
                           **HELPERS)


def _shown(space: Any, month: date, result: queries.Summary, can_log: bool) -> charts.Shown:
    """Every figure for a coordinator of the space; for a programme manager only what the
    organisation's protected figures publish (``summary.published``)."""
    if can_log:
        return charts.everything(result)
    return charts.published(figures.for_space(space, month, today(user_zone())),
                            figures.min_count())


@bp.get("/<uuid:space_id>/summary")
@require(Permission.WGSS_SUMMARY)
def summary(space_id: uuid.UUID) -> str:
    """A safe space's month in figures, with a chart beside the table (aggregates only)."""
    can_log = can(current_user, Permission.WGSS_LOG)
    space = load_space(current_user, space_id, logs=can_log, action=Action.WGSS_SUMMARY_VIEW)
    month_form, month = _month()
    result = queries.summary(space, month) if month else None
    shown = _shown(space, month, result, can_log) if month and result else None
    chart = charts.band_chart(shown, rtl=select_locale() in RTL_LANGUAGES) if shown else None
    audit.read(Action.WGSS_SUMMARY_VIEW, ObjectType.SAFE_SPACE, space.id,
                         reason=f"month:{month:%Y-%m}" if month else "invalid_month")
    return render_template("safe_space/summary.html", space=space, summary=result, chart=chart,
                           shown=shown, month_form=month_form, month=month, can_log=can_log,
                           withheld=barchart.WITHHELD,
                           legend=barchart.legend(shown.k) if shown and shown.k is not None else "",
                           **(_neighbours(month) if month else {}), **HELPERS)


@bp.get("/<uuid:space_id>/summary.csv")
@require(Permission.WGSS_SUMMARY)
def summary_csv(space_id: uuid.UUID) -> BaseResponse:
    """The monthly summary as CSV (aggregates only; formula-like cells neutralised)."""
    can_log = can(current_user, Permission.WGSS_LOG)
    space = load_space(current_user, space_id, logs=can_log, action=Action.WGSS_SUMMARY_EXPORT)
    _form, month = _month()
    if month is None:
        flash(_("Choose a valid month."), "error")
        return redirect(url_for("safe_space.summary", space_id=space.id))
    result = queries.summary(space, month)
    body = charts.to_csv(result, _shown(space, month, result, can_log))
    audit.read(Action.WGSS_SUMMARY_EXPORT, ObjectType.SAFE_SPACE, space.id,
                         reason=f"month:{month:%Y-%m}")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="wgss-summary-{month:%Y-%m}.csv"'})


@bp.get("/activity-types")
@require(Permission.WGSS_CONFIGURE)
def activity_types() -> str:
    """Every activity type, offered or not."""
    audit.read(Action.ACTIVITY_TYPE_LIST, ObjectType.ACTIVITY_TYPE)
    return render_template("safe_space/activity_types.html",
                           rows=queries.activity_types(active_only=False), **HELPERS)


@bp.route("/activity-types/new", methods=["GET", "POST"])
@bp.route("/activity-types/<uuid:type_id>", methods=["GET", "POST"])
@require(Permission.WGSS_CONFIGURE)
def activity_type(type_id: uuid.UUID | None = None) -> str | BaseResponse:
    """Add an activity type, or rename or switch one off (its code stays)."""
    current = db.get_or_404(ActivityType, type_id) if type_id else None
    form = (forms.ActivityTypeForm(obj=current if request.method == "GET" else None)
            if current else forms.NewActivityTypeForm())
    if isinstance(form, forms.NewActivityTypeForm) and (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("safe_space.activity_types"))
    if current is not None:
        del form.code  # codes are stable: stored on sessions' types and in exports
    if request.method == "GET":
        audit.read(Action.ACTIVITY_TYPE_VIEW, ObjectType.ACTIVITY_TYPE, type_id)
    if form.validate_on_submit():
        try:
            service.save_activity_type(
                form.command(), current, form.version.data,
                once=form.submission if isinstance(form, forms.NewActivityTypeForm) else None)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("safe_space.activity_types"))
        except service.SessionInvalid as exc:
            _show(form, exc.errors)
        except service.SafeSpaceStale as exc:
            flash(str(exc), "error")
            form.version.data = exc.current_version
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("safe_space.activity_types"))
    return render_template("safe_space/activity_type_form.html", form=form, current=current)
