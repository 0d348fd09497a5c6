"""Reads of the safe-space area: choices for the forms, a month's session logs, and the monthly
summary's sums (computed in SQL from the clear counts; no notes are decrypted for them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Integer, func, or_, select

from app.auth.models import User
from app.auth.policy import programme_staff
from app.db import db
from app.directory.models import SafeSpace
from app.safe_space import rules
from app.safe_space.models import ActivityType, WgssSession

SUMMED = rules.ALL_COUNTS + ("duration_minutes",)


def month_bounds(month: date) -> tuple[date, date]:
    """The first day of ``month`` and the first day of the next month."""
    first = month.replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt


def activity_types(*, include: uuid.UUID | None = None, active_only: bool = True) -> list[ActivityType]:
    """Activity types for a choice list (``include``: keep a session's current type even if it
    was switched off), the fallback ``other`` last."""
    stmt = select(ActivityType)
    if active_only:
        stmt = stmt.where(or_(ActivityType.active.is_(True), ActivityType.id == include))
    return list(db.session.execute(
        stmt.order_by(ActivityType.code == "other", ActivityType.label)).scalars())


def facilitators(user: User, *, include: list[User] | None = None) -> list[User]:
    """Accounts the user may name as facilitators (``include``: already named ones stay): every
    active account of the organisation whose role the policy counts as programme staff."""
    keep = [u.id for u in include or []]
    rows = db.session.execute(
        select(User).where(User.organisation_id == user.organisation_id,
                           or_(User.id.in_(keep),
                               User.active.is_(True) & User.role.in_(programme_staff())))
        .order_by(User.display_name)).scalars()
    return list(rows)


def sessions_in(space: SafeSpace, month: date) -> list[WgssSession]:
    """The space's session logs held in ``month``, by date (clear columns only are read)."""
    first, nxt = month_bounds(month)
    return list(db.session.execute(
        select(WgssSession).where(WgssSession.safe_space_id == space.id,
                                  WgssSession.held_on >= first, WgssSession.held_on < nxt)
        .order_by(WgssSession.held_on, WgssSession.created_at)).scalars())


@dataclass
class TypeRow:
    """Sessions and attendance of one activity type in the month."""

    activity_type: ActivityType
    sessions: int
    attendance: int


@dataclass
class Summary:
    """A safe space's month: sums of the clear counts, by activity type and by age band."""

    space: SafeSpace
    month: date
    sessions: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    by_type: list[TypeRow] = field(default_factory=list)

    @property
    def attendance(self) -> int:
        """Everyone who attended, summed over the month's sessions."""
        return rules.total(self.totals)

    def band_rows(self) -> list[tuple[rules.Band, int | None, int | None, int]]:
        """Per age band: girls, women (``None`` where the cell cannot occur) and the total."""
        out = []
        for band in rules.BANDS:
            girls = self.totals.get(band.girls, 0) if band.girls else None
            women = self.totals.get(band.women, 0) if band.women else None
            out.append((band, girls, women, (girls or 0) + (women or 0)))
        return out


def _sum(name: str) -> object:
    return func.coalesce(func.sum(getattr(WgssSession, name)), 0).label(name)


def summary(space: SafeSpace, month: date) -> Summary:
    """The monthly summary of one safe space."""
    first, nxt = month_bounds(month)
    in_month = (WgssSession.safe_space_id == space.id, WgssSession.held_on >= first,
                WgssSession.held_on < nxt)
    totals = db.session.execute(
        select(func.count(WgssSession.id).label("sessions"), *[_sum(n) for n in SUMMED])
        .where(*in_month)).one()
    attendance = sum((getattr(WgssSession, c) for c in rules.CELLS[1:]),
                     getattr(WgssSession, rules.CELLS[0]))
    per_type = db.session.execute(
        select(ActivityType, func.count(WgssSession.id),
               func.coalesce(func.sum(attendance), 0).cast(Integer))
        .join(WgssSession, WgssSession.activity_type_id == ActivityType.id)
        .where(*in_month).group_by(ActivityType.id)
        .order_by(ActivityType.code == "other", ActivityType.label)).all()
    result = Summary(space=space, month=first, sessions=int(totals.sessions),
                     totals={n: int(getattr(totals, n)) for n in SUMMED})
    result.by_type = [TypeRow(t, int(n), int(a)) for t, n, a in per_type]
    return result
