"""A statistics request answered: the filter checked against the user's scope, the year's grid
protected once (``suppression.protect``) and the cells of the asked period and site read into
view models for the page, the charts and the exports.

Nothing here adds published cells into a new figure: every number shown is one cell of the
Protection (a table's rows, its totals, the family's total by month). The one derived figure,
the share of rape reported within 72 hours that was referred in time, is shown only when both
of its counts are published (then it tells nothing they do not).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.core.barchart import legend, shown
from app.directory.models import Site
from app.localtime import organisation_zone, today, user_zone
from app.reports import freshness, grid, queries, scopes, suppression
from app.reports.definitions import (
    CONTEXT_TABLES,
    NOT_REFERRED,
    REFERRED,
    TABLES,
    Family,
    TableDef,
)
from app.reports.filters import FilterError, Period, default_period, parse_period
from app.reports.settings import min_count

ROOT = grid.ROOT
CAVEAT = _l("These figures cover reported incidents only, from survivors who consented to "
            "non-identifying statistics. They are not a measure of prevalence.")


@dataclass(frozen=True)
class Filter:
    """A checked request: a period of the grid and a site of the user's scope (None: all)."""

    period: Period
    site: Site | None

    @property
    def site_node(self) -> str:
        return ROOT if self.site is None else str(self.site.id)

    def audit_object(self, user: User) -> tuple[ObjectType, uuid.UUID | None]:
        if self.site is None:
            return ObjectType.ORGANISATION, user.organisation_id
        return ObjectType.SITE, self.site.id

    def audit_reason(self, fmt: str | None = None) -> str:
        site = "all_sites" if self.site is None else str(self.site.id)
        out = f"period:{self.period.node};site:{site}"
        return f"{out};format:{fmt}" if fmt else out


def resolve(user: User, raw_period: str | None, raw_site: str | None, *,
            action: Action) -> Filter:
    """The filter asked for, checked: a site outside the scope answers 404 (audited as
    ``action`` denied); an unknown period or site, a custom range or a future period raise
    ``FilterError`` with the reason."""
    site: Site | None = None
    wanted = (raw_site or "").strip()
    if not wanted:
        choices = scopes.sites_for(user)
        if not scopes.may_see_all(user):
            if not choices:
                raise FilterError(_l("No site is assigned to you: there are no statistics to "
                                     "show."))
            site = choices[0]
    elif wanted == scopes.ALL:
        scopes.refuse_all_sites(user, action=action)
    else:
        try:
            site_id = uuid.UUID(wanted)
        except ValueError:
            raise FilterError(_l("Choose a site from the list.")) from None
        site = scopes.load_site(user, site_id, action=action)
    now = today(user_zone(user))
    period = parse_period(raw_period if raw_period else default_period(now), now)
    return Filter(period=period, site=site)


@dataclass
class Row:
    code: str
    label: str
    value: int | None

    @property
    def text(self) -> str:
        return shown(self.value)


@dataclass
class TableView:
    """One table as shown: rows (one dimension) or a matrix (two), and the total."""

    code: str
    title: str
    dim_titles: list[str]
    rows: list[Row]
    total: int | None
    columns: list[Row] = field(default_factory=list)   # 2-D: column codes, labels, totals
    matrix: list[tuple[Row, list[Row]]] = field(default_factory=list)  # 2-D: row total, cells
    note: str = ""


@dataclass
class Report:
    filter: Filter
    k: int
    tables: list[TableView]
    by_month: list[Row]
    non_gbv: int | None
    clinical: TableView
    share: float | None
    referrals: TableView
    counted_at: datetime | None = None   # when the figures were counted (None: just now)

    @property
    def legend(self) -> str:
        return legend(self.k)

    @property
    def caveat(self) -> str:
        return str(CAVEAT)

    def every_table(self) -> list[TableView]:
        return [*self.tables, self.referrals, self.clinical]


def protect_year(organisation_id: uuid.UUID, year: int) -> suppression.Protection:
    """The year's grid for the organisation, protected once; ``FilterError`` when no
    consented incident was reported in the year (no Protection is computed then)."""
    return counted_year(organisation_id, year).value


def year_key(organisation_id: uuid.UUID, year: int) -> tuple[Any, ...]:
    """What the year's remembered count is known by (``freshness``): its grid and k."""
    zone = organisation_zone(organisation_id)
    now = today(zone)
    months = grid.months(year, now.month if year == now.year else 12)
    sites = grid.places(queries.site_ids(organisation_id))
    return ("gbvims", year, months, sites, min_count(), str(zone))


def remembered_year(organisation_id: uuid.UUID, year: int) -> tuple[
        freshness.Counted[suppression.Protection] | None, bool]:
    """The year's protection if one is remembered (never counted here), and whether it is
    current (``freshness.peek``)."""
    return freshness.peek(organisation_id, year_key(organisation_id, year))


def counted_year(organisation_id: uuid.UUID, year: int) -> freshness.Counted[
        suppression.Protection]:
    """``protect_year`` with when it was counted: the remembered count while nothing changed
    (``app.reports.freshness``), otherwise counted and protected again."""
    key = year_key(organisation_id, year)
    _gbvims, _year, months, sites, k, _zone = key

    def count() -> tuple[suppression.Protection, datetime | None]:
        tables = queries.tables(organisation_id, year)
        if not queries.has_incidents(tables):
            raise FilterError(_l("No incident with consent to statistics was reported in "
                                 "%(year)d: there is nothing to count.", year=year))
        return (suppression.protect(months, sites, tables, k),
                queries.next_deadline(organisation_id))

    return freshness.remembered(organisation_id, key, count)


def _view(p: suppression.Protection, table: TableDef, f: Filter) -> TableView:
    at = (table.code, f.period.node, f.site_node)
    total = p.value(*at, *(ROOT for _ in table.cats))
    titles = [str(c.title) for c in table.cats]
    if len(table.cats) == 1:
        cat = table.cats[0]
        rows = [Row(code, cat.label(code), p.value(*at, code)) for code in cat.rows]
        return TableView(table.code, str(table.title), titles, rows, total)
    if len(table.cats) == 2:
        first, second = table.cats
        columns = [Row(c, second.label(c), p.value(*at, ROOT, c)) for c in second.rows]
        matrix = [(Row(r, first.label(r), p.value(*at, r, ROOT)),
                   [Row(c, second.label(c), p.value(*at, r, c)) for c in second.rows])
                  for r in first.rows]
        return TableView(table.code, str(table.title), titles, [], total, columns, matrix)
    return TableView(table.code, str(table.title), titles, [], total)


def _contexts(p: suppression.Protection, f: Filter) -> TableView:
    """The case contexts as one table: each context's "applies" cell; several may apply."""
    rows = [Row(t.code, str(t.title), p.value(t.code, f.period.node, f.site_node, "applies"))
            for t in CONTEXT_TABLES]
    total = p.value(CONTEXT_TABLES[0].code, f.period.node, f.site_node, ROOT)
    return TableView("contexts", str(_l("Case contexts")), [str(_l("Case context"))], rows,
                     total, note=str(_l("Several contexts may apply to one incident, so the "
                                        "rows do not add up to the total.")))


def clinical_share(p: suppression.Protection, period: str, site: str) -> float | None:
    """The share of rape reported within 72 hours that was referred for clinical care within
    72 hours: only when both of its counts are published (and not both zero)."""
    referred = p.value("clinical72", period, site, REFERRED)
    not_referred = p.value("clinical72", period, site, NOT_REFERRED)
    if referred is not None and not_referred is not None and referred + not_referred:
        return referred / (referred + not_referred)
    return None


def build(p: suppression.Protection, f: Filter) -> Report:
    """The view models of every table for the filter, read from the Protection."""
    gbv = [t for t in TABLES if t.family == Family.GBV and t not in CONTEXT_TABLES]
    views = [_view(p, t, f) for t in gbv]
    views.append(_contexts(p, f))
    by_month = [] if f.period.kind == "month" else [
        Row(m, m, p.value("core_type", m, f.site_node, ROOT)) for m in f.period.months]
    by_code = {t.code: t for t in TABLES}
    clinical = _view(p, by_code["clinical72"], f)
    share = clinical_share(p, f.period.node, f.site_node)
    return Report(filter=f, k=p.k, tables=views, by_month=by_month,
                  non_gbv=p.value("non_gbv", f.period.node, f.site_node),
                  clinical=clinical, share=share,
                  referrals=_view(p, by_code["referrals"], f))


def answer(user: User, f: Filter) -> Report:
    """The report for a checked filter (``FilterError`` for a year without data)."""
    assert user.organisation_id is not None
    counted = counted_year(user.organisation_id, f.period.year)
    report = build(counted.value, f)
    report.counted_at = counted.counted_at
    return report
