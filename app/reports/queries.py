"""The leaf counts of every table (``app.reports.definitions``) for one organisation and one
calendar year, as ``grid.Table``s ready for ``suppression.protect``.

Only coded (clear) columns are read, by aggregate ``GROUP BY`` queries: no sealed value is
loaded, nothing is decrypted, no ORM object is built. The one loop in Python is over the rape
incidents reported within three days (tuples of dates and codes), whose 72-hour window is
counted in the organisation's zone by ``gbvims.clinical_window_end``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select

from app.cases import gbvims
from app.cases.consent import ConsentKind
from app.cases.models import Case, ConsentRecord, Incident, IncidentPerpetrator
from app.clock import utcnow
from app.db import db
from app.directory.models import Site
from app.localtime import organisation_zone
from app.referrals.models import Referral, ReferralStatus
from app.reports import grid
from app.reports.definitions import (
    APPLIES,
    BY_CODE,
    CONTEXT_TABLES,
    DOES_NOT_APPLY,
    FEMALE_AND_MALE,
    NOT_RECORDED,
    NOT_REFERRED,
    REFERRED,
    Outcome,
    TableDef,
)

Counts = Counter[tuple[str, ...]]


def site_ids(organisation_id: uuid.UUID) -> list[str]:
    """Every site of the organisation (the grid's site leaves), in a stable order."""
    rows = db.session.execute(select(Site.id).where(Site.organisation_id == organisation_id)
                              .order_by(Site.code, Site.id)).scalars()
    return [str(s) for s in rows]


def consented_cases() -> Select[Any]:
    """The ids of cases whose latest reporting consent is granted (now)."""
    latest = (select(ConsentRecord.case_id, func.max(ConsentRecord.position).label("position"))
              .where(ConsentRecord.kind == ConsentKind.REPORTING.value)
              .group_by(ConsentRecord.case_id).subquery())
    return (select(ConsentRecord.case_id)
            .join(latest, and_(ConsentRecord.case_id == latest.c.case_id,
                               ConsentRecord.position == latest.c.position))
            .where(ConsentRecord.granted.is_(True)))


def _month_leaf(year: int, month: Any) -> str:
    return f"{year:04d}-{int(month):02d}"


class _Population:
    """The consented incidents of one organisation reported in one year (GBV or not)."""

    def __init__(self, organisation_id: uuid.UUID, year: int) -> None:
        self.organisation_id, self.year = organisation_id, year
        self.month = func.extract("month", Incident.reported_date)

    def where(self, *, gbv: bool | None = True) -> list[ColumnElement[bool]]:
        conds = [Case.organisation_id == self.organisation_id,
                 Incident.reported_date >= date(self.year, 1, 1),
                 Incident.reported_date <= date(self.year, 12, 31),
                 Case.id.in_(consented_cases())]
        if gbv is True:
            conds.append(Incident.core_type != gbvims.NON_GBV.value)
        elif gbv is False:
            conds.append(Incident.core_type == gbvims.NON_GBV.value)
        return conds

    def count_by(self, *cats: Any, joins: Iterable[tuple[Any, Any]] = (),
                 gbv: bool | None = True) -> list[Any]:
        stmt = select(self.month, Case.site_id, *cats, func.count()).select_from(Incident) \
            .join(Case, Case.id == Incident.case_id)
        for target, on in joins:
            stmt = stmt.outerjoin(target, on)
        stmt = stmt.where(*self.where(gbv=gbv)).group_by(self.month, Case.site_id, *cats)
        return list(db.session.execute(stmt).all())


def _table(table: TableDef, rows: Iterable[Sequence[Any]], year: int) -> grid.Table:
    """A grid table from (month, site, category..., count) rows; a stored code outside the
    table's list fails loudly (it would break the family's shared total)."""
    counts: Counts = Counter()
    for row in rows:
        *cats, n = row[2:]
        for code, cat in zip(cats, table.cats, strict=True):
            if code not in cat.codes:
                raise ValueError(f"table {table.code}: code {code!r} is not a category")
        counts[(_month_leaf(year, row[0]), str(row[1]), *(str(c) for c in cats))] += int(n)
    return grid.Table(table.code, table.family, table.dims(), dict(counts))


def _age_group(age: Any) -> Any:
    """``gbvims.age_group`` in SQL (the tests check both agree)."""
    return case((age.is_(None), gbvims.AgeGroup.UNKNOWN.value),
                (age <= 11, gbvims.AgeGroup.AGE_0_11.value),
                (age <= 17, gbvims.AgeGroup.AGE_12_17.value),
                (age <= 25, gbvims.AgeGroup.AGE_18_25.value),
                (age <= 40, gbvims.AgeGroup.AGE_26_40.value),
                (age <= 60, gbvims.AgeGroup.AGE_41_60.value),
                else_=gbvims.AgeGroup.AGE_61_PLUS.value)


def _perpetrator_sexes() -> Any:
    """Per incident with a perpetrator record: whether a female, a male and a perpetrator of
    unknown sex is recorded (1 or 0)."""
    p = IncidentPerpetrator
    return (select(p.incident_id,
                   func.max(case((p.sex == "female", 1), else_=0)).label("f"),
                   func.max(case((p.sex == "male", 1), else_=0)).label("m"),
                   func.max(case((p.sex.in_(("female", "male")), 0), else_=1)).label("o"))
            .group_by(p.incident_id).subquery())


def gbv_tables(pop: _Population) -> list[grid.Table]:
    year = pop.year
    simple = {"core_type": Incident.core_type, "displacement": Case.displacement_status,
              "displacement_stage": Incident.displacement_stage,
              "location_type": Incident.location_type, "time_of_day": Incident.time_of_day,
              "report_band": Incident.report_band,
              "perpetrator_count": Incident.perpetrator_count}
    out = [_table(BY_CODE[code], pop.count_by(column), year) for code, column in simple.items()]
    out.append(_table(BY_CODE["survivor_sex_age"],
                      pop.count_by(Case.sex, _age_group(Incident.survivor_age_at_incident)), year))
    sexes = _perpetrator_sexes()
    sex = case((sexes.c.incident_id.is_(None), NOT_RECORDED),
               (and_(sexes.c.f == 1, sexes.c.m == 1), FEMALE_AND_MALE),
               (and_(sexes.c.f == 1, sexes.c.o == 0), "female"),
               (and_(sexes.c.m == 1, sexes.c.o == 0), "male"),
               else_="unknown")
    out.append(_table(BY_CODE["perpetrator_sex"], pop.count_by(
        sex, joins=[(sexes, sexes.c.incident_id == Incident.id)]), year))
    primary = IncidentPerpetrator
    on = and_(primary.incident_id == Incident.id, primary.position == 1)
    for code, column in (("perpetrator_age", primary.age_group),
                         ("perpetrator_relationship", primary.relationship),
                         ("perpetrator_occupation", primary.occupation)):
        value = func.coalesce(column, NOT_RECORDED)
        out.append(_table(BY_CODE[code], pop.count_by(value, joins=[(primary, on)]), year))
    out.extend(_context_tables(pop))
    return out


def _context_tables(pop: _Population) -> list[grid.Table]:
    """One table per case context: incidents it applies to, and the others."""
    padded = literal(",") + Incident.contexts + literal(",")
    sums = [func.sum(case((padded.like(f"%,{t.code.removeprefix('context_')},%"), 1), else_=0))
            for t in CONTEXT_TABLES]
    stmt = (select(pop.month, Case.site_id, func.count(), *sums).select_from(Incident)
            .join(Case, Case.id == Incident.case_id).where(*pop.where())
            .group_by(pop.month, Case.site_id))
    counts: list[Counts] = [Counter() for _ in CONTEXT_TABLES]
    for month, site, total, *applies in db.session.execute(stmt).all():
        leaf = (_month_leaf(pop.year, month), str(site))
        for c, n in zip(counts, applies, strict=True):
            c[(*leaf, APPLIES)] += int(n or 0)
            c[(*leaf, DOES_NOT_APPLY)] += int(total) - int(n or 0)
    return [grid.Table(t.code, t.family, t.dims(), dict(c))
            for t, c in zip(CONTEXT_TABLES, counts, strict=True)]


def non_gbv_table(pop: _Population) -> grid.Table:
    table = BY_CODE["non_gbv"]
    counts: dict[tuple[str, ...], int] = {(_month_leaf(pop.year, m), str(s)): int(n)
                                          for m, s, n in pop.count_by(gbv=False)}
    return grid.Table(table.code, table.family, table.dims(), counts)


def month_starts(year: int, zone: tzinfo) -> list[datetime]:
    """The UTC moments the 12 months of ``year`` (and the next year) begin in ``zone``."""
    return [datetime(year + (m == 13), 1 if m == 13 else m, 1, tzinfo=zone).astimezone(UTC)
            for m in range(1, 14)]


def _local_month(column: Any, year: int, starts: Sequence[datetime]) -> Any:
    """SQL: the ``YYYY-MM`` leaf of the local month a UTC moment falls in (None outside)."""
    return case(*((and_(column >= starts[i], column < starts[i + 1]), _month_leaf(year, i + 1))
                  for i in range(12)), else_=None)


def referral_table(organisation_id: uuid.UUID, year: int, zone: tzinfo) -> grid.Table:
    """Referrals of consented cases by local month sent, site, service type and outcome."""
    starts = month_starts(year, zone)
    month = _local_month(Referral.sent_at, year, starts)
    status = Referral.status
    outcome = case((status == ReferralStatus.ACCEPTED.value, Outcome.ACCEPTED.value),
                   (status == ReferralStatus.DECLINED.value, Outcome.DECLINED.value),
                   (status == ReferralStatus.COMPLETED.value, Outcome.COMPLETED.value),
                   (status == ReferralStatus.REVOKED.value, Outcome.WITHDRAWN.value),
                   (and_(status == ReferralStatus.SENT.value, Referral.respond_by < utcnow()),
                    Outcome.NOT_ANSWERED_IN_TIME.value),
                   (status == ReferralStatus.SENT.value, Outcome.AWAITING_ANSWER.value),
                   else_=status)
    stmt = (select(month, Case.site_id, Referral.service_type, outcome, func.count())
            .select_from(Referral).join(Case, Case.id == Referral.case_id)
            .where(Case.organisation_id == organisation_id, Referral.sent_at >= starts[0],
                   Referral.sent_at < starts[12], Case.id.in_(consented_cases()))
            .group_by(month, Case.site_id, Referral.service_type, outcome))
    table = BY_CODE["referrals"]
    rows = [(int(m[-2:]), *rest) for m, *rest in db.session.execute(stmt).all()]
    return _table(table, rows, year)


def clinical_table(pop: _Population, zone: tzinfo) -> grid.Table:
    """Consented rape incidents reported within 72 hours: referred for health care in time?"""
    stmt = (select(pop.month, Case.site_id, Incident.case_id, Incident.incident_date,
                   Incident.incident_time, Incident.time_of_day, Incident.reported_date)
            .select_from(Incident).join(Case, Case.id == Incident.case_id)
            .where(*pop.where(), Incident.core_type == gbvims.CoreType.RAPE.value,
                   Incident.report_band == gbvims.ReportBand.DAYS_0_3.value))
    within = []
    for month, site, case_id, day, at, part, reported in db.session.execute(stmt).all():
        ends = gbvims.clinical_window_end(day, at=at, part=part, zone=zone)
        if datetime.combine(reported, time(0), tzinfo=zone) < ends:
            starts = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
            within.append((month, site, case_id, starts, ends))
    sent: dict[Any, list[datetime]] = {}
    if within:
        first = min(w[3] for w in within)
        last = max(w[4] for w in within)
        refs = (select(Referral.case_id, Referral.sent_at).join(Case, Case.id == Referral.case_id)
                .where(Case.organisation_id == pop.organisation_id,
                       Referral.service_type == gbvims.ServiceType.HEALTH_MEDICAL.value,
                       Referral.sent_at >= first, Referral.sent_at <= last))
        for case_id, moment in db.session.execute(refs).all():
            sent.setdefault(case_id, []).append(moment)
    rows = [(month, site, REFERRED if any(s <= m <= e for m in sent.get(case_id, ()))
             else NOT_REFERRED, 1) for month, site, case_id, s, e in within]
    return _table(BY_CODE["clinical72"], rows, pop.year)


def has_incidents(organisation_id: uuid.UUID, year: int) -> bool:
    """Whether the organisation has any consented incident reported in ``year``."""
    pop = _Population(organisation_id, year)
    stmt = (select(func.count()).select_from(Incident).join(Case, Case.id == Incident.case_id)
            .where(*pop.where(gbv=None)))
    return int(db.session.execute(stmt).scalar_one()) > 0


def tables(organisation_id: uuid.UUID, year: int) -> list[grid.Table]:
    """Every table's leaf counts for the organisation's year."""
    zone = organisation_zone(organisation_id)
    pop = _Population(organisation_id, year)
    return [*gbv_tables(pop), non_gbv_table(pop), referral_table(organisation_id, year, zone),
            clinical_table(pop, zone)]
