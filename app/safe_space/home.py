"""The safe-space coordinator's home panel: this month's sessions per safe space, and how long
since each space last held one.

Only the coordinator's own, open safe spaces (``scopes.space_scope``, the scope of the session
logs), counted in SQL from the session table's clear columns (one query, both figures from the
``(safe_space_id, held_on)`` index); "this month" and "today" are the coordinator's
organisation's. No note is read: a panel shows counts, dates and the spaces' names only.
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
from app.directory.models import SafeSpace
from app.localtime import today, user_zone
from app.safe_space.models import WgssSession
from app.safe_space.queries import month_bounds
from app.safe_space.scopes import space_scope


@dataclass(frozen=True)
class SpaceRow:
    """One safe space's month: how many sessions, and the day of its last session (ever)."""

    space_id: Any
    name: str
    sessions: int
    last_held_on: date | None
    days_since: int | None


def space_rows(user: Any, on: date) -> list[SpaceRow]:
    """The user's open safe spaces with their sessions in the month of ``on`` and the days from
    their last session to ``on``, by name (one query)."""
    first, nxt = month_bounds(on)
    in_month = (select(func.count(WgssSession.id))
                .where(WgssSession.safe_space_id == SafeSpace.id,
                       WgssSession.held_on >= first, WgssSession.held_on < nxt)
                .correlate(SafeSpace).scalar_subquery())
    last = (select(func.max(WgssSession.held_on))
            .where(WgssSession.safe_space_id == SafeSpace.id)
            .correlate(SafeSpace).scalar_subquery())
    rows = db.session.execute(
        select(SafeSpace.id, SafeSpace.name, in_month, last)
        .where(space_scope(user, logs=True), SafeSpace.active.is_(True))
        .order_by(SafeSpace.name)).all()
    return [SpaceRow(space_id, name, int(n or 0), held,
                     (on - held).days if held is not None else None)
            for space_id, name, n, held in rows]


@hooks.home_panels.subscribe
def coordinator_panels(user: Any) -> list[Panel]:
    """The sessions panel, for those who log safe-space sessions (coordinators)."""
    if not can(user, Permission.WGSS_LOG):
        return []
    on = today(user_zone(user))
    return [Panel("wgss-sessions", _l("Safe-space sessions this month"),
                  "safe_space/home_sessions.html",
                  {"rows": space_rows(user, on), "month_key": on.strftime("%Y-%m"),
                   "month_label": format_date(on.replace(day=1), "MMMM y")}, order=40)]
