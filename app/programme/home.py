"""The safe-space coordinator's home panel of programme logs: awareness sessions and staff
trainings held this month at each of the coordinator's own open sites.

The sites are those whose logs the coordinator reads (``scopes.site_scope``); each count comes
from the kind's ``(site_id, held_on)`` index, all in one query, and "this month" is the
coordinator's organisation's. The logs hold counts and codes only, and only the number of logs
is shown here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth.policy import Permission, can
from app.core import hooks
from app.core.home import Panel
from app.db import db
from app.directory.models import Site
from app.localtime import today, user_zone
from app.programme.lists import month_bounds
from app.programme.rules import AWARENESS, TRAINING, Kind
from app.programme.scopes import site_scope


@dataclass(frozen=True)
class SiteRow:
    """One site's month: how many awareness sessions and staff trainings were held."""

    site_id: Any
    name: str
    code: str
    awareness: int
    trainings: int


def _in_month(kind: Kind, first: date, nxt: date) -> Any:
    model = kind.model
    return (select(func.count(model.id))
            .where(model.site_id == Site.id, model.held_on >= first, model.held_on < nxt)
            .correlate(Site).scalar_subquery())


def site_rows(user: Any, on: date) -> list[SiteRow]:
    """The user's open sites with the logs of each kind held in the month of ``on``, by name."""
    first, nxt = month_bounds(on)
    rows = db.session.execute(
        select(Site.id, Site.name, Site.code, _in_month(AWARENESS, first, nxt),
               _in_month(TRAINING, first, nxt))
        .where(site_scope(user), Site.active.is_(True)).order_by(Site.name)).all()
    return [SiteRow(site_id, name, code, int(a or 0), int(t or 0))
            for site_id, name, code, a, t in rows]


@hooks.home_panels.subscribe
def coordinator_panels(user: Any) -> list[Panel]:
    """The activity-log panel, for those who log programme activities (coordinators)."""
    if not can(user, Permission.PROGRAMME_LOG):
        return []
    on = today(user_zone(user))
    rows = site_rows(user, on)
    return [Panel("programme-logs", _l("Awareness sessions and trainings this month"),
                  "programme/home_logs.html",
                  {"rows": rows, "month_key": on.strftime("%Y-%m"),
                   "month_label": format_date(on.replace(day=1), "MMMM y"),
                   "awareness": sum(r.awareness for r in rows),
                   "trainings": sum(r.trainings for r in rows)}, order=45)]
