"""The programme manager's indicators: twelve months of trend and the year's shares, every
number a cell of a protected grid or withheld.

- **Cases opened and closed per month**: cells of the cases grid (``impact.cases_year``), the
  current year's grid for this year's months and last year's grid for the months before.
- **Safe-space attendance per month**: cells of the safe-space figures' grid
  (``app.safe_space.figures``), read the same way.
- **Urgent clinical referrals within 72 hours** (the share of rape reported within 72 hours
  referred for clinical care in time) and **referrals answered in time per service**: shares
  of two published cells of the statistics grid of a year (``publication.clinical_share``;
  ``referral_timeliness``: answered in time over the ``answer_due`` group), for this year so
  far and last year. The statistics grid takes seconds to count, so it is never counted
  here: the home page shows the protection the statistics page last counted and remembered
  (``publication.remembered_year``), with when it was counted, or says that it is not
  counted and links to Statistics.
- **Median days from intake to an approved action plan**: over consented cases whose plan was
  approved in the twelve months, from the case's opening day to the plan's approval day in
  the organisation's zone (two coded columns: nothing is decrypted). It is not a count and
  no grid holds it: it is shown only when at least k cases make it, and the number of cases
  is never shown (it would be a count outside the grid).

No sum of cells is ever shown: a twelve-month total is not a cell of any grid.
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo

from sqlalchemy import select

from app.cases.models import Case
from app.db import db
from app.localtime import organisation_zone, today
from app.reports import freshness, grid, impact, publication, queries, suppression
from app.reports.definitions import ANSWER_DUE, BY_CODE, Timeliness
from app.reports.settings import min_count
from app.safe_space import figures as wgss

ROOT = grid.ROOT
MONTHS = 12
CURRENT, EARLIER, NOT_COUNTED = "current", "earlier", "not_counted"


@dataclass(frozen=True)
class Month:
    """One month of the trend: each value a published cell (``None``: withheld)."""

    leaf: str                 # "YYYY-MM"
    opened: int | None
    closed: int | None
    attendance: int | None
    has_spaces: bool          # False: no safe space that year (nothing to count)

    @property
    def day(self) -> date:
        return date(int(self.leaf[:4]), int(self.leaf[5:7]), 1)


@dataclass(frozen=True)
class ServiceShare:
    code: str
    label: str
    share: float | None       # None: withheld (or nothing was due)


@dataclass(frozen=True)
class YearShares:
    """The shares of one year's statistics grid as last counted (``state``: ``current``,
    ``earlier`` — counted before the latest change — or ``not_counted``)."""

    year: int
    state: str
    counted_at: datetime | None = None
    clinical: float | None = None
    services: list[ServiceShare] = field(default_factory=list)


@dataclass(frozen=True)
class Indicators:
    k: int
    months: list[Month]
    median_days: float | None    # None: withheld (fewer than k cases)
    shares: list[YearShares]


def trend_months(now: date, count: int = MONTHS) -> list[str]:
    """The ``count`` month leaves ending with ``now``'s month, oldest first."""
    out = []
    year, month = now.year, now.month
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _cases(organisation_id: uuid.UUID, year: int) -> suppression.Protection | None:
    counted = impact.cases_year(organisation_id, year)
    return None if counted is None else counted.value


def _spaces(organisation_id: uuid.UUID, year: int, now: date) -> suppression.Protection | None:
    g = wgss.build(organisation_id, year, now)
    return None if g is None else wgss.protect(g)


def months(organisation_id: uuid.UUID, now: date) -> list[Month]:
    """The trend: each month read from its own year's grids, one cell at a time."""
    leaves = trend_months(now)
    years = sorted({int(leaf[:4]) for leaf in leaves})
    cases = {y: _cases(organisation_id, y) for y in years}
    spaces = {y: _spaces(organisation_id, y, now) for y in years}
    out = []
    for leaf in leaves:
        c, s = cases[int(leaf[:4])], spaces[int(leaf[:4])]
        out.append(Month(
            leaf=leaf,
            opened=None if c is None else c.value(impact.CASES_OPENED, leaf, ROOT, ROOT),
            closed=None if c is None else c.value(impact.CASES_CLOSED, leaf, ROOT, ROOT),
            attendance=None if s is None else s.value(wgss.PARTICIPANTS, leaf, ROOT, ROOT),
            has_spaces=s is not None))
    return out


def plan_days(organisation_id: uuid.UUID, since: datetime, zone: tzinfo) -> list[int]:
    """Days from intake (``Case.opened_on``) to the approval of the action plan (its local
    day), for consented cases whose plan was approved since ``since``: coded columns only."""
    stmt = (select(Case.opened_on, Case.plan_approved_at)
            .where(Case.organisation_id == organisation_id, Case.plan_approved_at >= since,
                   Case.id.in_(queries.consented_cases())))
    out = []
    for opened, approved in db.session.execute(stmt).all():
        assert approved is not None   # the query asks for approved plans
        out.append(max(0, (approved.astimezone(zone).date() - opened).days))
    return out


def median_days(organisation_id: uuid.UUID, first_month: date, zone: tzinfo) -> float | None:
    """The median of ``plan_days`` since the first day of ``first_month`` (local), or ``None``
    when fewer than k cases make it. Remembered like the grids (``freshness``): an approval
    is a write to a case, a consent decision a removal."""
    since = datetime.combine(first_month, time(0), tzinfo=zone).astimezone(UTC)

    def count() -> tuple[tuple[float | None, int], None]:
        days = plan_days(organisation_id, since, zone)
        return ((statistics.median(days) if days else None), len(days)), None

    found = freshness.remembered(organisation_id, ("plan_median", first_month, str(zone)),
                                 count)
    value, n = found.value
    return value if n >= max(min_count(), 1) else None


def service_shares(p: suppression.Protection, period: str) -> list[ServiceShare]:
    """Per type of service: answered in time over the referrals whose answer was due, when
    both cells are published (and something was due)."""
    table = BY_CODE["referral_timeliness"]
    out = []
    for code in table.cats[0].codes:
        in_time = p.value(table.code, period, ROOT, code, Timeliness.ANSWERED_IN_TIME.value)
        due = p.value(table.code, period, ROOT, code, ANSWER_DUE)
        share = in_time / due if in_time is not None and due else None
        out.append(ServiceShare(code, table.cats[0].label(code), share))
    return out


def year_shares(organisation_id: uuid.UUID, year: int) -> YearShares:
    """The year's shares from its remembered statistics grid; never counted here."""
    counted, current = publication.remembered_year(organisation_id, year)
    if counted is None:
        return YearShares(year, NOT_COUNTED)
    p, node = counted.value, f"{year:04d}"
    return YearShares(year, CURRENT if current else EARLIER, counted.counted_at,
                      publication.clinical_share(p, node, ROOT), service_shares(p, node))


def compute(organisation_id: uuid.UUID) -> Indicators:
    """Every indicator of the organisation for the twelve months to today (its zone)."""
    zone = organisation_zone(organisation_id)
    now = today(zone)
    trend = months(organisation_id, now)
    return Indicators(k=min_count(), months=trend,
                      median_days=median_days(organisation_id, trend[0].day, zone),
                      shares=[year_shares(organisation_id, y) for y in (now.year, now.year - 1)])
