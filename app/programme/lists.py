"""Reads of the log pages: one site's logs of one kind in one month, a page at a time."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import func, select

from app.db import db
from app.directory.models import Site
from app.programme.models import ActivityLog
from app.programme.rules import Kind

PAGE_SIZE = 50


def month_bounds(month: date) -> tuple[date, date]:
    """The first day of ``month`` and the first day of the next month."""
    first = month.replace(day=1)
    return first, date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def logs_in(kind: Kind, site: Site, month: date, page: int = 1,
            size: int = PAGE_SIZE) -> tuple[list[ActivityLog], int]:
    """The site's logs of ``kind`` held in ``month`` (by date, then when logged): one page of
    them, and how many there are in the month."""
    first, nxt = month_bounds(month)
    where = (kind.model.site_id == site.id, kind.model.held_on >= first,
             kind.model.held_on < nxt)
    count = int(db.session.execute(
        select(func.count()).select_from(kind.model).where(*where)).scalar_one())
    rows = db.session.execute(
        select(kind.model).where(*where)
        .order_by(kind.model.held_on, kind.model.created_at, kind.model.id)
        .limit(size).offset((max(page, 1) - 1) * size)).scalars()
    return cast(list[ActivityLog], list(rows)), count
