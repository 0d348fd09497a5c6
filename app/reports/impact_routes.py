"""The programme impact page: the organisation's yearly figures, each one a protected cell."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.core.barchart import legend
from app.localtime import today, user_zone
from app.reports import impact
from app.reports.filters import FilterError
from app.reports.publication import CAVEAT
from app.reports.settings import min_count

bp = Blueprint("impact", __name__, url_prefix="/statistics")


@bp.get("/impact")
@require(Permission.PROGRAMME_READ)
def impact_page() -> str:
    """Survivors supported, incidents, referrals, safe spaces, awareness and training."""
    now = today(user_zone())
    years = [now.year - i for i in range(impact.YEARS_OFFERED)]
    figures, problem, year = None, None, None
    try:
        year = impact.check_year(request.args.get("year"), now)
        figures = impact.figures(current_user.organisation_id, year, now)
    except FilterError as exc:
        problem = exc.message
    audit.read(Action.PROGRAMME_IMPACT_VIEW, ObjectType.ORGANISATION,
               current_user.organisation_id,
               reason=f"year:{year}" if figures is not None else "invalid_filter")
    return render_template("reports/impact.html", figures=figures, problem=problem, year=year,
                           years=years, legend=legend(min_count()), caveat=CAVEAT)
