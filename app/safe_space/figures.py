"""Safe-space figures across every space of an organisation and the months of a year, as cells
of the publication grid (``app.reports.grid``), protected once per organisation and year.

Two families, one table each, counted from the clear columns of the session logs only (no note
is decrypted):

- ``wgss_participants``: attendance by age band and girls / women. The dimension's leaves are
  the six cells a session log records (``rules.CELLS``), grouped into girls and women, so the
  table publishes each cell, the girls' and the women's totals and the grand total. Cells that
  cannot occur (girls aged 20 and over, women under 18) are not part of the grid: they are zero
  by definition, and a withheld cell known to be zero would let a reader undo the protection of
  the cells beside it. For the same reason the 15–19 band's total (girls 15–17 plus women
  18–19) is not a cell: the hierarchy is by sex, and no published figure adds two cells.
  Attendance counts each participant at every session she came to: it is not a count of people.
- ``wgss_sessions``: sessions by activity type (every type the installation has, offered or
  not: the list does not depend on the data, so its presence tells nothing).

Both are counted by the month of the session date (``held_on``) and by the safe space's site:
several safe spaces at one site add up into that site's cells (a space's own figures are not
cells of the grid). The sites are those of the organisation's safe spaces open in the year (a
site without one would be a dimension of zeros that everyone knows). Months stop at the current
month of the current year (``grid.months``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from app.db import db
from app.directory.models import SafeSpace, Site
from app.reports import grid, settings, suppression
from app.safe_space import rules
from app.safe_space.models import ActivityType, WgssSession

PARTICIPANTS = "wgss_participants"
SESSIONS = "wgss_sessions"
GIRLS, WOMEN = "girls", "women"


def min_count() -> int:
    """k, the smallest count published: the statistics' setting (``AMANA_STATS_MIN_COUNT``)."""
    return settings.min_count()


def attendance_dim() -> grid.Dim:
    """The six attendance cells, grouped into girls (under 18) and women (18 and over)."""
    girls = tuple(b.girls for b in rules.BANDS if b.girls)
    women = tuple(b.women for b in rules.BANDS if b.women)
    return grid.Dim("attendance", rules.CELLS, groups=((GIRLS, girls), (WOMEN, women)))


def activity_types() -> list[ActivityType]:
    """Every activity type, offered or not, the fallback ``other`` last."""
    return list(db.session.execute(
        select(ActivityType).order_by(ActivityType.code == "other", ActivityType.label,
                                      ActivityType.code)).scalars())


def sites_in(organisation_id: object, year: int) -> list[Site]:
    """The sites of the organisation's safe spaces that were open at some time in ``year``
    (opened on or before its last day, or with no opening date), by name."""
    stmt = (select(Site).join(SafeSpace, SafeSpace.site_id == Site.id)
            .where(SafeSpace.organisation_id == organisation_id,
                   Site.organisation_id == organisation_id,
                   or_(SafeSpace.opened_on.is_(None), SafeSpace.opened_on <= date(year, 12, 31)))
            .distinct().order_by(Site.name, Site.id))
    return list(db.session.execute(stmt).scalars())


def last_month(year: int, today: date) -> int | None:
    """The grid's last month of ``year`` seen from ``today``; ``None`` for a future year."""
    if year > today.year:
        return None
    return today.month if year == today.year else 12


def anything_logged(organisation_id: object, year: int) -> bool:
    """Whether the organisation logged at least one session held in ``year``."""
    found = db.session.execute(
        select(WgssSession.id).join(SafeSpace, SafeSpace.id == WgssSession.safe_space_id)
        .where(SafeSpace.organisation_id == organisation_id,
               WgssSession.held_on >= date(year, 1, 1), WgssSession.held_on <= date(year, 12, 31))
        .limit(1)).first()
    return found is not None


@dataclass(frozen=True)
class Grid:
    """One organisation's year: the dimensions, the sites and types behind them, the tables."""

    year: int
    period: grid.Dim
    site: grid.Dim
    sites: list[Site]
    types: list[ActivityType]
    tables: list[grid.Table]


def _counts(organisation_id: object, year: int, through: int) -> tuple[
        dict[tuple[str, ...], int], dict[tuple[str, ...], int]]:
    """Leaf counts (month, site, cell) of attendance and (month, site, type code) of sessions,
    summed in SQL by day, site and type from the clear columns."""
    end = date(year + (through == 12), through % 12 + 1, 1)
    rows = db.session.execute(
        select(WgssSession.held_on, SafeSpace.site_id, ActivityType.code,
               func.count(WgssSession.id),
               *[func.sum(getattr(WgssSession, c)) for c in rules.CELLS])
        .join(SafeSpace, SafeSpace.id == WgssSession.safe_space_id)
        .join(ActivityType, ActivityType.id == WgssSession.activity_type_id)
        .where(SafeSpace.organisation_id == organisation_id,
               WgssSession.held_on >= date(year, 1, 1), WgssSession.held_on < end)
        .group_by(WgssSession.held_on, SafeSpace.site_id, ActivityType.code)).all()
    attendance: dict[tuple[str, ...], int] = defaultdict(int)
    sessions: dict[tuple[str, ...], int] = defaultdict(int)
    for held_on, site_id, code, n, *cells in rows:
        month, site = f"{held_on:%Y-%m}", str(site_id)
        sessions[(month, site, code)] += int(n)
        for cell, value in zip(rules.CELLS, cells, strict=True):
            attendance[(month, site, cell)] += int(value or 0)
    return dict(attendance), dict(sessions)


def build(organisation_id: object, year: int, today: date) -> Grid | None:
    """The organisation's grid for ``year`` (``None`` for a future year or without a site)."""
    through = last_month(year, today)
    sites = sites_in(organisation_id, year)
    if through is None or not sites:
        return None
    types = activity_types()
    attendance, sessions = _counts(organisation_id, year, through)
    tables = [grid.Table(PARTICIPANTS, PARTICIPANTS, (attendance_dim(),), attendance),
              grid.Table(SESSIONS, SESSIONS,
                         (grid.categories("activity_type", [t.code for t in types]),), sessions)]
    return Grid(year=year, period=grid.months(year, through),
                site=grid.places(str(s.id) for s in sites), sites=sites, types=types,
                tables=tables)


def protect(g: Grid, k: int | None = None) -> suppression.Protection:
    """The one protection of the organisation's year: every request reads its cells."""
    return suppression.protect(g.period, g.site, g.tables, min_count() if k is None else k)


@dataclass(frozen=True)
class BandRow:
    """An age band: girls' and women's cells (``None``: withheld; ``cell`` ``None``: the sex
    cannot occur in the band)."""

    band: rules.Band
    girls: int | None
    women: int | None


@dataclass(frozen=True)
class TypeRow:
    """Sessions of one activity type (``None``: withheld)."""

    activity_type: ActivityType
    sessions: int | None


@dataclass(frozen=True)
class Figures:
    """The protected cells of one period and one site (``"*"``: all sites)."""

    period: str
    site: str
    bands: list[BandRow]
    girls: int | None
    women: int | None
    attendance: int | None
    types: list[TypeRow]
    sessions: int | None
    k: int

    def cells(self) -> Sequence[tuple[str, int | None]]:
        """Every attendance leaf cell, in the order of ``rules.CELLS``."""
        out = []
        for row in self.bands:
            if row.band.girls:
                out.append((row.band.girls, row.girls))
            if row.band.women:
                out.append((row.band.women, row.women))
        return out


def read(protection: suppression.Protection, g: Grid, period: str, site: str) -> Figures:
    """The cells of ``period`` and ``site`` as published: read one by one, never added."""
    def p(*cats: str) -> int | None:
        return protection.value(PARTICIPANTS, period, site, *cats)

    def s(*cats: str) -> int | None:
        return protection.value(SESSIONS, period, site, *cats)

    bands = [BandRow(b, p(b.girls) if b.girls else None, p(b.women) if b.women else None)
             for b in rules.BANDS]
    return Figures(period=period, site=site, bands=bands, girls=p(GIRLS), women=p(WOMEN),
                   attendance=p(grid.ROOT), types=[TypeRow(t, s(t.code)) for t in g.types],
                   sessions=s(grid.ROOT), k=protection.k)


def period_start(node: str) -> date:
    """The first day of a grid period ("YYYY-MM", "YYYY-Qn" or "YYYY")."""
    year = int(node[:4])
    if len(node) == 4:
        return date(year, 1, 1)
    if node[5] == "Q":
        return date(year, 3 * int(node[6]) - 2, 1)
    return date(year, int(node[5:7]), 1)


@dataclass(frozen=True)
class SpaceView:
    """A safe space's month as the organisation's figures publish it: its site's cells when it
    is the only safe space of its site in the year (``site`` ``None`` otherwise: its own
    figures are parts of its site's cells, not cells, and are never published to readers of
    the figures)."""

    grid: Grid
    period: str
    site: str | None
    protection: suppression.Protection | None


def spaces_at(site_id: object, organisation_id: object, year: int) -> int:
    """How many of the organisation's safe spaces at the site were open at some time in
    ``year`` (the condition of ``sites_in``)."""
    return int(db.session.execute(
        select(func.count(SafeSpace.id)).where(
            SafeSpace.site_id == site_id, SafeSpace.organisation_id == organisation_id,
            or_(SafeSpace.opened_on.is_(None), SafeSpace.opened_on <= date(year, 12, 31)))
    ).scalar_one())


def for_space(space: SafeSpace, month: date, today: date) -> SpaceView | None:
    """The published view of ``space`` in ``month`` (``None``: the month is not in a grid,
    say in the future); the protection is the year's one, as on the figures page."""
    g = build(space.organisation_id, month.year, today)
    period = f"{month:%Y-%m}"
    if g is None or period not in g.period.leaves:
        return None
    site = str(space.site_id)
    if site not in g.site.leaves or spaces_at(space.site_id, space.organisation_id,
                                              month.year) != 1:
        return SpaceView(grid=g, period=period, site=None, protection=None)
    return SpaceView(grid=g, period=period, site=site, protection=protect(g))
