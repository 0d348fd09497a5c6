"""The programme impact figures an organisation reports each year, every one a protected cell.

Survivors supported (cases opened), incidents documented (GBV, and not GBV on its own line),
referrals completed, safe-space sessions and participants, awareness sessions and the people
they reached, staff trainings and the people trained: each figure is one cell of a grid that
is protected once for the organisation's year and read, never added to another. The incident
and referral figures are cells of the statistics grid (``publication.protect_year``, the very
protection the statistics page reads), the safe-space ones of the safe-space figures' grid, and
the logs' of the programme-log grid. Cases opened and cases closed are two families of their
own in one small *cases grid* (``cases_year``: by month and site, protected once and
remembered like the statistics' year, ``app.reports.freshness``: a case's status change is a
write to a watched model), read here and on the programme manager's home page
(``app.reports.indicators``). Counting only consented cases, as every statistic does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, tzinfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, func, select

from app.cases.models import Case
from app.db import db
from app.localtime import organisation_zone, today
from app.programme import queries as programme
from app.reports import freshness, grid, queries, suppression
from app.reports.filters import FilterError
from app.reports.publication import protect_year
from app.reports.settings import min_count
from app.safe_space import figures as wgss

ROOT = grid.ROOT
CASES_OPENED = "cases_opened"
CASES_CLOSED = "cases_closed"
YEARS_OFFERED = 5


@dataclass(frozen=True)
class Figure:
    """One published figure (``None``: withheld; ``applies`` False: nothing of the kind runs)."""

    code: str
    label: str
    value: int | None
    applies: bool = True


def through(year: int, now: date) -> int:
    """The last month of ``year`` in the grid: the current month for the current year."""
    if year > now.year:
        raise FilterError(_l("%(year)d has not started yet.", year=year))
    return now.month if year == now.year else 12


def check_year(raw: str | None, now: date) -> int:
    """The year asked for, or ``FilterError``: four digits, offered in the list."""
    text = (raw or "").strip()
    if not text:
        return now.year
    if not (len(text) == 4 and text.isascii() and text.isdigit()):
        raise FilterError(_l("Choose a year from the list."))
    year = int(text)
    if year > now.year:
        raise FilterError(_l("%(year)d has not started yet.", year=year))
    if year <= now.year - YEARS_OFFERED:
        raise FilterError(_l("Choose a year from the list."))
    return year


def cases_opened(organisation_id: uuid.UUID, year: int, last: int) -> grid.Table:
    """Consented cases opened in the year, by month and site (one category)."""
    month = extract("month", Case.opened_on)
    stmt = (select(month, Case.site_id, func.count())
            .where(Case.organisation_id == organisation_id,
                   Case.opened_on >= date(year, 1, 1),
                   Case.opened_on < (date(year + 1, 1, 1) if last == 12
                                     else date(year, last + 1, 1)),
                   Case.id.in_(queries.consented_cases()))
            .group_by(month, Case.site_id))
    counts: dict[tuple[str, ...], int] = {
        (f"{year:04d}-{int(m):02d}", str(site), "opened"): int(n)
        for m, site, n in db.session.execute(stmt)}
    return grid.Table(CASES_OPENED, CASES_OPENED, (grid.categories("opened", ["opened"]),),
                      counts)


def cases_closed(organisation_id: uuid.UUID, year: int, last: int, zone: tzinfo) -> grid.Table:
    """Consented cases closed in the year (their closure approved, ``Case.closed_at``, in the
    organisation's local month), by month and site. A reopened case has no closing time: it
    counts again when it is closed again."""
    starts = queries.month_starts(year, zone)
    month = queries.local_month(Case.closed_at, year, starts)
    stmt = (select(month, Case.site_id, func.count())
            .where(Case.organisation_id == organisation_id, Case.closed_at.is_not(None),
                   Case.closed_at >= starts[0], Case.closed_at < starts[last],
                   Case.id.in_(queries.consented_cases()))
            .group_by(month, Case.site_id))
    counts: dict[tuple[str, ...], int] = {
        (str(m), str(site), "closed"): int(n) for m, site, n in db.session.execute(stmt)}
    return grid.Table(CASES_CLOSED, CASES_CLOSED, (grid.categories("closed", ["closed"]),),
                      counts)


def cases_year(organisation_id: uuid.UUID, year: int) -> freshness.Counted[
        suppression.Protection] | None:
    """The cases grid of the organisation's year (cases opened and closed by month and site),
    protected once and remembered until a counted record changes (``freshness``); ``None``
    for a year not begun or an organisation without a site. Months run to the current month
    of the organisation's zone, as in the statistics' year."""
    zone = organisation_zone(organisation_id)
    now = today(zone)
    if year > now.year:
        return None
    last = through(year, now)
    site_ids = queries.site_ids(organisation_id)
    if not site_ids:
        return None
    period, sites, k = grid.months(year, last), grid.places(site_ids), min_count()

    def count() -> tuple[suppression.Protection, None]:
        tables = [cases_opened(organisation_id, year, last),
                  cases_closed(organisation_id, year, last, zone)]
        return suppression.protect(period, sites, tables, k), None

    return freshness.remembered(organisation_id, ("cases", year, period, sites, k, str(zone)),
                                count)


def figures(organisation_id: uuid.UUID, year: int, now: date) -> list[Figure]:
    """The year's impact figures for the whole organisation (every one a protected cell)."""
    last = through(year, now)
    node, k = f"{year:04d}", min_count()
    site_ids = queries.site_ids(organisation_id)
    if not site_ids:
        raise FilterError(_l("The organisation has no site: there is nothing to count."))
    period = grid.months(year, last)
    out: list[Figure] = []
    cases = cases_year(organisation_id, year)
    out.append(Figure("cases_opened", str(_l("Survivors supported (cases opened)")),
                      None if cases is None else cases.value.value(CASES_OPENED, node, ROOT,
                                                                   ROOT)))
    try:
        stats = protect_year(organisation_id, year)
    except FilterError:   # no consented incident in the year: nothing to publish from it
        stats = None
    for code, label, cell in (
            ("incidents_gbv", _l("GBV incidents documented"), ("core_type", ROOT)),
            ("incidents_not_gbv", _l("Incidents documented that were not GBV"),
             ("non_gbv",)),
            ("referrals_completed", _l("Referrals completed"),
             ("referrals", ROOT, "completed"))):
        value = None if stats is None else stats.value(cell[0], node, ROOT, *cell[1:])
        out.append(Figure(code, str(label), value, applies=stats is not None))
    g = wgss.build(organisation_id, year, now)
    spaces = None if g is None else wgss.protect(g, k)
    for code, label, table in (
            ("wgss_sessions", _l("Safe-space sessions held"), wgss.SESSIONS),
            ("wgss_attendance", _l("Safe-space attendances (a participant at each session)"),
             wgss.PARTICIPANTS)):
        value = None if spaces is None else spaces.value(table, node, ROOT, ROOT)
        out.append(Figure(code, str(label), value, applies=spaces is not None))
    logs = suppression.protect(period, grid.places(programme.site_leaves(organisation_id)),
                               programme.tables(organisation_id, year, last), k)
    for code, label, table, dims in (
            ("awareness_sessions", _l("Community awareness sessions"),
             programme.AWARENESS_SESSIONS, 1),
            ("awareness_people", _l("People reached by awareness sessions"),
             programme.AWARENESS_PEOPLE, 2),
            ("trainings", _l("Staff trainings"), programme.TRAININGS, 1),
            ("trained_people", _l("Staff trained"), programme.TRAINING_PEOPLE, 2)):
        out.append(Figure(code, str(label), logs.value(table, node, ROOT, *([ROOT] * dims))))
    return out
