"""Case numbers: site prefix, year, sequence (``TRI-2026-00042``); unique under concurrency.

The per-site, per-year counter row is incremented with an UPDATE, which takes a row lock, so
two caseworkers opening cases at the same moment get different numbers; the first number of a
year inserts the row, and a racing insert falls back to the update.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.cases.models import CaseSequence
from app.db import db
from app.directory.models import Site


def next_case_number(site: Site, year: int) -> str:
    """Reserve the next number for ``site`` in ``year`` (inside the caller's transaction)."""
    bump = (update(CaseSequence)
            .where(CaseSequence.site_id == site.id, CaseSequence.year == year)
            .values(last_value=CaseSequence.last_value + 1))
    if getattr(db.session.execute(bump), "rowcount", 0) == 0:
        try:
            with db.session.begin_nested():
                db.session.add(CaseSequence(site_id=site.id, year=year, last_value=1))
        except IntegrityError:
            db.session.execute(bump)  # another transaction created the row first
    value = db.session.execute(
        select(CaseSequence.last_value)
        .where(CaseSequence.site_id == site.id, CaseSequence.year == year)
    ).scalar_one()
    return f"{site.code}-{year}-{value:05d}"
