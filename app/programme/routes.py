"""Programme log screens: coordinators log community awareness sessions and staff trainings at
their own sites, list a site's logs month by month, and correct them. Views stay thin: load
through the scope, call the service, render. A site or log outside the user's scope answers 404
exactly like a missing one, and the attempt is audited.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.forms import OneTimeSubmission, fall_back
from app.localtime import today, user_zone
from app.programme import forms, labels, lists, rules, service
from app.programme.models import AGE_BANDS, ORGANISATION_KINDS, SEXES, ActivityLog
from app.programme.rules import KINDS, Kind
from app.programme.scopes import VIEW_ACTIONS, load_log, load_site, sites_for
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("programme", __name__, url_prefix="/programme")
KIND = "<any(awareness, trainings):kind>"
LIST_ACTIONS = {"awareness": Action.AWARENESS_SESSION_LIST, "trainings": Action.TRAINING_LIST}
FORM_REASONS = {"awareness": "awareness_form", "trainings": "training_form"}
HELPERS = {"topic_label": labels.topic_label, "kind_title": labels.kind_title,
           "sex_total": rules.sex_total, "sexes": SEXES, "age_bands": AGE_BANDS,
           "organisation_kinds": ORGANISATION_KINDS, "sex_labels": labels.SEX_LABELS,
           "band_labels": labels.BAND_LABELS,
           "organisation_kind_labels": labels.ORGANISATION_KIND_LABELS}


def _month(form: forms.ListForm) -> date | None:
    """The month asked for (``?month=YYYY-MM``), this month by default; None if invalid."""
    if form.month.errors:
        return None
    month = form.month.data or today(user_zone()).replace(day=1)
    form.month.data = month
    return month


def _neighbours(month: date) -> dict[str, Any]:
    first, nxt = lists.month_bounds(month)
    prev = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return {"prev_month": prev.strftime("%Y-%m"), "next_month": nxt.strftime("%Y-%m"),
            "month_key": first.strftime("%Y-%m"), "future": nxt > today(user_zone()),
            "month_label": format_date(first, "MMMM y")}


def _prepare(form: forms.ActivityForm, current: ActivityLog | None = None) -> None:
    sites = sites_for(current_user)
    form.sites = {str(s.id): s for s in sites}
    form.current_site_id = current.site_id if current else None
    form.current_date = current.held_on if current else None
    form.site.choices = [(str(s.id), s.name) for s in sites
                         if rules.takes_logs(s, current_site_id=form.current_site_id)]


def _values_of(kind: Kind, log: ActivityLog) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(log, name) for name in kind.cells}
    values.update(site=str(log.site_id), held_on=log.held_on, topic=log.topic,
                  version=log.version)
    return values


def _to_list(kind: Kind, log: ActivityLog) -> BaseResponse:
    flash(_("Awareness session saved.") if kind.code == "awareness" else
          _("Staff training saved."), "info")
    return redirect(url_for("programme.logs", site_id=log.site_id, kind=kind.code,
                            month=log.held_on.strftime("%Y-%m")))


@bp.get("/")
@require(Permission.PROGRAMME_LOG)
def index() -> str:
    """The user's sites, each with its awareness sessions and staff trainings."""
    sites = sites_for(current_user)
    audit.read(Action.PROGRAMME_SITE_LIST, ObjectType.SITE)
    return render_template("programme/index.html", sites=sites, **HELPERS)


@bp.get(f"/sites/<uuid:site_id>/{KIND}")
@require(Permission.PROGRAMME_LOG)
def logs(site_id: uuid.UUID, kind: str) -> str:
    """One site's logs of one kind in one month, fifty a page (counts, dates and codes)."""
    spec = KINDS[kind]
    site = load_site(current_user, site_id, action=LIST_ACTIONS[kind])
    form = forms.ListForm(request.args)
    fall_back(form)
    month = _month(form)
    rows, count = lists.logs_in(spec, site, month, form.page.page) if month else ([], 0)
    audit.read(LIST_ACTIONS[kind], ObjectType.SITE, site.id,
               reason=f"month:{month:%Y-%m}" if month else "invalid_month")
    return render_template("programme/logs.html", kind=spec, site=site, rows=rows, count=count,
                           month=month, list_form=form, page=form.page.page,
                           page_size=lists.PAGE_SIZE, may_log=rules.takes_logs(site),
                           **(_neighbours(month) if month else {}), **HELPERS)


@bp.route(f"/{KIND}/new", methods=["GET", "POST"])
@require(Permission.PROGRAMME_LOG)
def new_log(kind: str) -> str | BaseResponse:
    """Log an activity: where, when, the topic and how many took part (never who). A second
    POST of the same form shows the log the first one saved."""
    spec = KINDS[kind]
    form = forms.NEW_FORMS[kind]()
    if isinstance(form, OneTimeSubmission) and (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("programme.edit_log", kind=kind,
                                            log_id=prior.object_id))
    _prepare(form)
    if request.method == "GET":
        wanted = request.args.get("site", "")
        if wanted in dict(form.site.choices or []):
            form.site.data = wanted
        form.held_on.data = today(user_zone())
        audit.read(Action.PROGRAMME_SITE_LIST, ObjectType.SITE, reason=FORM_REASONS[kind])
    elif form.validate_on_submit():
        once = form.submission if isinstance(form, OneTimeSubmission) else None
        try:
            log = service.save_log(current_user, spec, form.command(), once=once)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("programme.edit_log", kind=kind,
                                                     log_id=done.claim.object_id))
        except service.ActivityInvalid as exc:
            form.show(exc.errors)
        else:
            return _to_list(spec, log)
    elif (refused := form.refused_site_id()) is not None:
        audit.denied(service.CREATE_ACTIONS[kind], ObjectType.SITE, refused)
    return render_template("programme/log_form.html", form=form, kind=spec, entry=None,
                           stale=False, **HELPERS)


@bp.route(f"/{KIND}/<uuid:log_id>", methods=["GET", "POST"])
@require(Permission.PROGRAMME_LOG)
def edit_log(kind: str, log_id: uuid.UUID) -> str | BaseResponse:
    """Correct a log; a save based on an old copy is refused, the input kept."""
    spec = KINDS[kind]
    action = service.UPDATE_ACTIONS[kind] if request.method == "POST" else VIEW_ACTIONS[kind]
    entry = load_log(current_user, spec, log_id, action=action)
    form = forms.EDIT_FORMS[kind](data=_values_of(spec, entry) if request.method == "GET"
                                  else None)
    _prepare(form, entry)
    stale = False
    if request.method == "POST" and form.validate_on_submit():
        try:
            service.save_log(current_user, spec, form.command(), entry, form.version.data)
        except service.ActivityInvalid as exc:
            form.show(exc.errors)
        except service.ProgrammeStale as exc:
            flash(str(exc), "error")
            form.version.data = exc.current_version
            stale = True
        else:
            return _to_list(spec, entry)
    elif request.method == "POST" and (refused := form.refused_site_id()) is not None:
        audit.denied(service.UPDATE_ACTIONS[kind], ObjectType.SITE, refused)
    return render_template("programme/log_form.html", form=form, kind=spec, entry=entry,
                           stale=stale, **HELPERS)
