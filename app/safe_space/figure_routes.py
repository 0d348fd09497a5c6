"""The organisation's safe-space figures for programme managers: every safe space, a month, a
quarter or a year, one site or all, as tables, charts and a CSV file.

Every figure is a cell of the organisation's publication grid for the year (``figures``),
protected by one ``suppression.protect`` call and read cell by cell; a withheld cell is shown
as ``×`` with the legend. Bad input (a period that is not a month, quarter or year, a period
not started yet, a year with nothing logged, a site without a safe space that year) gets a
clear message and nothing is computed or exported; another organisation's site answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.core import barchart
from app.core.ids import parse_uuid
from app.i18n import RTL_LANGUAGES, select_locale
from app.localtime import today, user_zone
from app.reports.grid import ROOT
from app.safe_space import figure_charts, figures
from app.safe_space.forms import FiguresForm
from app.safe_space.labels import type_label
from app.safe_space.scopes import load_organisation_site

bp = Blueprint("wgss_figures", __name__, url_prefix="/safe-spaces")
ALL_SITES = "all"


@dataclass
class Asked:
    """What the request asked for, once checked: the figures, or why there are none."""

    form: FiguresForm
    period: str | None = None
    site: str = ROOT
    site_label: str = ""
    result: figures.Figures | None = None
    message: str | None = None
    reason: str = "invalid_filter"


def _asked(action: Action) -> Asked:
    """Check the filter and, when it holds, read the protected cells (one protection of the
    organisation's year, whatever period and site are asked)."""
    form = FiguresForm(request.args)
    now = today(user_zone())
    if not form.period.data:
        form.period.data = f"{now:%Y-%m}"
    valid = form.validate()
    year = form.year if valid else now.year
    org = current_user.organisation_id
    sites = figures.sites_in(org, year)
    form.site.choices = [(ALL_SITES, _("All sites"))] + [(str(s.id), s.name) for s in sites]
    asked = Asked(form=form)
    wanted = form.site.data or ALL_SITES
    if wanted != ALL_SITES:
        site_id = parse_uuid(wanted)
        if site_id is None:
            form.site.errors = [_("Choose a site from the list.")]
            return asked
        site = load_organisation_site(current_user, site_id, action=action)
        asked.site, asked.site_label = str(site.id), site.name
    else:
        asked.site_label = _("All sites")
    if not valid:
        return asked
    period = str(form.period.data)
    asked.period = period
    if figures.period_start(period) > now:
        asked.message, asked.reason = _("This period has not started yet."), "future_period"
        return asked
    if not figures.anything_logged(org, year):
        asked.message = _("No safe-space session was logged in %(year)d: there is nothing to "
                          "show for this period.", year=year)
        asked.reason = "nothing_logged"
        return asked
    g = figures.build(org, year, now)
    if g is None or asked.site not in g.site.nodes:
        asked.message = _("This site had no safe space open in %(year)d. Choose another site "
                          "or all sites.", year=year)
        asked.reason = "no_safe_space_at_site"
        return asked
    asked.result = figures.read(figures.protect(g), g, period, asked.site)
    asked.reason = f"period:{period};site:{ALL_SITES if asked.site == ROOT else asked.site}"
    return asked


@bp.get("/figures")
@require(Permission.PROGRAMME_READ)
def figures_page() -> str:
    """The figures of every safe space of the organisation for the period and site asked."""
    asked = _asked(Action.WGSS_FIGURES_VIEW)
    audit.read(Action.WGSS_FIGURES_VIEW, ObjectType.ORGANISATION, current_user.organisation_id,
               reason=asked.reason)
    charts = (figure_charts.charts(asked.result, rtl=select_locale() in RTL_LANGUAGES)
              if asked.result else [])
    return render_template("safe_space/figures.html", asked=asked, charts=charts,
                           legend=barchart.legend(figures.min_count()),
                           caveat=figure_charts.caveat_text(), type_label=type_label,
                           withheld=barchart.WITHHELD, all_sites=ALL_SITES)


@bp.get("/figures.csv")
@require(Permission.PROGRAMME_READ)
def figures_csv() -> BaseResponse:
    """The same cells as CSV (withheld ones as ``×``; formula-like cells neutralised). Bad
    input exports nothing: the page is shown again with the message."""
    asked = _asked(Action.WGSS_FIGURES_EXPORT)
    audit.read(Action.WGSS_FIGURES_EXPORT, ObjectType.ORGANISATION,
               current_user.organisation_id, reason=asked.reason)
    if asked.result is None or asked.period is None:
        flash(asked.message or _("Check the period and the site, then try again."), "error")
        return redirect(url_for("wgss_figures.figures_page", period=asked.form.period.data,
                                site=asked.form.site.data or ALL_SITES))
    body = figure_charts.to_csv(asked.result, period=asked.period, site_label=asked.site_label)
    name = f"wgss-figures-{asked.period}-{ALL_SITES if asked.site == ROOT else 'site'}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
