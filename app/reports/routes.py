"""Statistics screens: the tables and charts of one period and site, and their CSV and XLSX
exports. Views stay thin: the filter is checked by ``publication.resolve`` (a site outside the
scope answers 404, audited), the year is protected once and the cells read from it.

A filter that cannot be answered (an unknown period or site, a custom range, a future period,
a year without consented incidents) shows its reason; nothing is computed, nothing exported.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.audit import service as audit
from app.audit.actions import Action
from app.auth.policy import Permission, can, require
from app.i18n import RTL_LANGUAGES, select_locale
from app.localtime import today, user_zone
from app.reports import charts, exports, publication, scopes
from app.reports.filters import FilterError
from app.reports.forms import StatsFilterForm

bp = Blueprint("reports", __name__, url_prefix="/statistics")


def _form() -> StatsFilterForm:
    form = StatsFilterForm(request.args)
    form.offer(scopes.sites_for(current_user), all_sites=scopes.may_see_all(current_user),
               today=today(user_zone()))
    return form


def _site_name(f: publication.Filter) -> str:
    return _("All sites") if f.site is None else f.site.name


@bp.get("/")
@require(Permission.STATS_READ)
def index() -> str:
    """The GBVIMS tables and charts of one period and site (coded counts only)."""
    form = _form()
    report, problem, f = None, None, None
    try:
        f = publication.resolve(current_user, form.period.data, form.site.data,
                                action=Action.STATS_VIEW)
        form.period.data, form.site.data = f.period.node, (
            scopes.ALL if f.site is None else str(f.site.id))
        report = publication.answer(current_user, f)
    except FilterError as exc:
        problem = exc.message
    if f is not None:
        kind, object_id = f.audit_object(current_user)
        audit.read(Action.STATS_VIEW, kind, object_id,
                   reason=f.audit_reason() if report else "invalid_filter")
    else:
        audit.read(Action.STATS_VIEW, reason="invalid_filter")
    rtl = select_locale() in RTL_LANGUAGES
    graphs = {t.code: charts.bar_chart(t, rtl=rtl) for t in report.every_table()} \
        if report else {}
    return render_template("reports/index.html", form=form, report=report, problem=problem,
                           charts=graphs, site_name=_site_name(f) if f else "",
                           may_export=can(current_user, Permission.STATS_EXPORT),
                           caveat=publication.CAVEAT)


def _export(fmt: str) -> tuple[publication.Filter, publication.Report] | BaseResponse:
    form = _form()
    try:
        f = publication.resolve(current_user, form.period.data, form.site.data,
                                action=Action.STATS_EXPORT)
        report = publication.answer(current_user, f)
    except FilterError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.index", period=form.period.data or None,
                                site=form.site.data or None))
    kind, object_id = f.audit_object(current_user)
    audit.read(Action.STATS_EXPORT, kind, object_id, reason=f.audit_reason(fmt))
    return f, report


def _filename(f: publication.Filter, ext: str) -> str:
    site = "all-sites" if f.site is None else f.site.code.lower()
    return f"amana-statistics-{f.period.node}-{site}.{ext}"


@bp.get("/export.csv")
@require(Permission.STATS_EXPORT)
def export_csv() -> BaseResponse:
    """Every table of the filter as CSV (the caveat, the legend and the × marks included)."""
    done = _export("csv")
    if isinstance(done, BaseResponse):
        return done
    f, report = done
    return Response(exports.to_csv(report, _site_name(f)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename(f, "csv")}"'})


@bp.get("/export.xlsx")
@require(Permission.STATS_EXPORT)
def export_xlsx() -> BaseResponse:
    """Every table of the filter as an XLSX workbook (text cells written as text)."""
    done = _export("xlsx")
    if isinstance(done, BaseResponse):
        return done
    f, report = done
    body = exports.to_xlsx(report, _site_name(f), rtl=select_locale() in RTL_LANGUAGES)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument."
                                    "spreadsheetml.sheet", headers={
        "Content-Disposition": f'attachment; filename="{_filename(f, "xlsx")}"'})
