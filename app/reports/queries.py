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

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import aliased

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
    TABLES,
    Family,
    Outcome,
    TableDef,
    Timeliness,
)

Counts = Counter[tuple[str, ...]]


def site_ids(organisation_id: uuid.UUID) -> list[str]:
    """Every site of the organisation (the grid's site leaves), in a stable order."""
    rows = db.session.execute(select(Site.id).where(Site.organisation_id == organisation_id)
                              .order_by(Site.code, Site.id)).scalars()
    return [str(s) for s in rows]


def consented_cases() -> Select[Any]:
    """The ids of cases whose latest reporting consent is granted (now): one scan, grouped by
    case; positions are unique within a case, so the largest ``2 * position + granted`` is the
    latest decision and its last bit whether it granted."""
    r = ConsentRecord
    latest = func.max(r.position * 2 + case((r.granted.is_(True), 1), else_=0))
    return (select(r.case_id).where(r.kind == ConsentKind.REPORTING.value)
            .group_by(r.case_id).having(latest % 2 == 1))


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


def _table(table: TableDef, rows: Iterable[Sequence[Any]], year: int) -> grid.Table:
    """A grid table from (month, site, category..., count) rows."""
    counts: Counts = Counter()
    for row in rows:
        *cats, n = row[2:]
        counts[(_month_leaf(year, row[0]), str(row[1]), *(str(c) for c in cats))] += int(n)
    return _checked(table, counts)


def _age_group(age: Any) -> Any:
    """``gbvims.age_group`` in SQL (the tests check both agree)."""
    return case((age.is_(None), gbvims.AgeGroup.UNKNOWN.value),
                (age <= 11, gbvims.AgeGroup.AGE_0_11.value),
                (age <= 17, gbvims.AgeGroup.AGE_12_17.value),
                (age <= 25, gbvims.AgeGroup.AGE_18_25.value),
                (age <= 40, gbvims.AgeGroup.AGE_26_40.value),
                (age <= 60, gbvims.AgeGroup.AGE_41_60.value),
                else_=gbvims.AgeGroup.AGE_61_PLUS.value)


ANY_PERPETRATOR = aliased(IncidentPerpetrator)


def _has_perpetrator(*where: Any) -> Any:
    p = ANY_PERPETRATOR
    return select(p.id).where(p.incident_id == Incident.id, *where).correlate(Incident).exists()


def _perpetrator_sex() -> Any:
    """Per incident: ``female``/``male`` when every perpetrator recorded is of that sex,
    ``female_and_male`` when both are recorded, ``unknown`` otherwise, ``not_recorded``
    without a perpetrator record. Correlated EXISTS on the incident's perpetrators (index
    lookups): a join to a grouped subquery has no statistics to plan with and PostgreSQL may
    then loop over it for every incident."""
    p = ANY_PERPETRATOR
    female, male = _has_perpetrator(p.sex == "female"), _has_perpetrator(p.sex == "male")
    other = _has_perpetrator(p.sex.not_in(("female", "male")))
    return case((~_has_perpetrator(), NOT_RECORDED),
                (and_(female, male), FEMALE_AND_MALE),
                (and_(female, ~other), "female"),
                (and_(male, ~other), "male"),
                else_="unknown")


# The GBV tables read from the one grouped population query: (table, column of the row).
ONE_DIM = (("core_type", 2), ("displacement", 5), ("displacement_stage", 6),
           ("location_type", 7), ("time_of_day", 8), ("report_band", 9),
           ("perpetrator_count", 10), ("perpetrator_sex", 12), ("perpetrator_age", 13),
           ("perpetrator_relationship", 14), ("perpetrator_occupation", 15))


def incident_tables(pop: _Population) -> list[grid.Table]:
    """Every GBV table and the not-GBV count from one query grouped by every coded column
    they need (the rows are combinations of codes, with their counts; no incident id)."""
    primary = IncidentPerpetrator
    on = and_(primary.incident_id == Incident.id, primary.position == 1)
    columns = (pop.month, Case.site_id, Incident.core_type, Case.sex,
               _age_group(Incident.survivor_age_at_incident), Case.displacement_status,
               Incident.displacement_stage, Incident.location_type, Incident.time_of_day,
               Incident.report_band, Incident.perpetrator_count, Incident.contexts,
               _perpetrator_sex(), func.coalesce(primary.age_group, NOT_RECORDED),
               func.coalesce(primary.relationship, NOT_RECORDED),
               func.coalesce(primary.occupation, NOT_RECORDED))
    stmt = (select(*columns, func.count()).select_from(Incident)
            .join(Case, Case.id == Incident.case_id).outerjoin(primary, on)
            .where(*pop.where(gbv=None)).group_by(*columns))
    counts: dict[str, Counts] = {t.code: Counter() for t in TABLES}
    contexts = [(t.code, t.code.removeprefix("context_")) for t in CONTEXT_TABLES]
    sites: dict[Any, str] = {}
    for row in db.session.execute(stmt).all():
        n = int(row[-1])
        site = sites.setdefault(row[1], str(row[1]))
        leaf = (_month_leaf(pop.year, row[0]), site)
        if row[2] == gbvims.NON_GBV:
            counts["non_gbv"][leaf] += n
            continue
        for code, i in ONE_DIM:
            counts[code][(*leaf, row[i])] += n
        counts["survivor_sex_age"][(*leaf, row[3], row[4])] += n
        applying = set(row[11].split(",")) if row[11] else set()
        for code, ctx in contexts:
            counts[code][(*leaf, APPLIES if ctx in applying else DOES_NOT_APPLY)] += n
    out = []
    for code, found in counts.items():
        table = BY_CODE[code]
        if table.family in (Family.GBV, Family.NON_GBV):
            out.append(_checked(table, found))
    return out


def _checked(table: TableDef, counts: Counts) -> grid.Table:
    """A grid table; a stored code outside the table's list fails loudly (it would break the
    family's shared total)."""
    for key in counts:
        for code, cat in zip(key[2:], table.cats, strict=True):
            if code not in cat.codes:
                raise ValueError(f"table {table.code}: code {code!r} is not a category")
    return grid.Table(table.code, table.family, table.dims(), dict(counts))


def month_starts(year: int, zone: tzinfo) -> list[datetime]:
    """The UTC moments the 12 months of ``year`` (and the next year) begin in ``zone``."""
    return [datetime(year + (m == 13), 1 if m == 13 else m, 1, tzinfo=zone).astimezone(UTC)
            for m in range(1, 14)]


def local_month(column: Any, year: int, starts: Sequence[datetime]) -> Any:
    """SQL: the ``YYYY-MM`` leaf of the local month a UTC moment falls in (None outside)."""
    return case(*((and_(column >= starts[i], column < starts[i + 1]), _month_leaf(year, i + 1))
                  for i in range(12)), else_=None)


def timeliness() -> Any:
    """SQL: a referral's ``Timeliness`` (``definitions``): answered by its deadline; not in
    time (answered late, its deadline passed with no answer, or revoked unanswered after it);
    not due (no answer and the deadline not passed, or revoked unanswered before it)."""
    answered, due = Referral.responded_at, Referral.respond_by
    revoked = Referral.status == ReferralStatus.REVOKED.value
    return case((and_(answered.is_not(None), answered <= due), Timeliness.ANSWERED_IN_TIME.value),
                (answered.is_not(None), Timeliness.NOT_IN_TIME.value),
                (and_(revoked, Referral.closed_at.is_not(None), Referral.closed_at > due),
                 Timeliness.NOT_IN_TIME.value),
                (revoked, Timeliness.NOT_DUE.value),
                (due < utcnow(), Timeliness.NOT_IN_TIME.value),
                else_=Timeliness.NOT_DUE.value)


def referral_tables(organisation_id: uuid.UUID, year: int, zone: tzinfo) -> list[grid.Table]:
    """Referrals of consented cases by local month sent, site and service type: by outcome
    (``referrals``) and by whether they were answered in time (``referral_timeliness``), from
    one grouped query. Only the organisation's own referrals: one a service made onward from a
    referral it received (``parent_id``) is that service's, not the case organisation's."""
    starts = month_starts(year, zone)
    month = local_month(Referral.sent_at, year, starts)
    status = Referral.status
    outcome = case((status == ReferralStatus.ACCEPTED.value, Outcome.ACCEPTED.value),
                   (status == ReferralStatus.DECLINED.value, Outcome.DECLINED.value),
                   (status == ReferralStatus.COMPLETED.value, Outcome.COMPLETED.value),
                   (status == ReferralStatus.REVOKED.value, Outcome.WITHDRAWN.value),
                   (and_(status == ReferralStatus.SENT.value, Referral.respond_by < utcnow()),
                    Outcome.NOT_ANSWERED_IN_TIME.value),
                   (status == ReferralStatus.SENT.value, Outcome.AWAITING_ANSWER.value),
                   else_=status)
    answer = timeliness()
    stmt = (select(month, Case.site_id, Referral.service_type, outcome, answer, func.count())
            .select_from(Referral).join(Case, Case.id == Referral.case_id)
            .where(Case.organisation_id == organisation_id, Referral.sent_at >= starts[0],
                   Referral.sent_at < starts[12], Case.id.in_(consented_cases()),
                   Referral.parent_id.is_(None))
            .group_by(month, Case.site_id, Referral.service_type, outcome, answer))
    by_outcome, by_answer = [], []
    for m, site, service_type, result, answered, n in db.session.execute(stmt).all():
        by_outcome.append((int(m[-2:]), site, service_type, result, n))
        by_answer.append((int(m[-2:]), site, service_type, answered, n))
    return [_table(BY_CODE["referrals"], by_outcome, year),
            _table(BY_CODE["referral_timeliness"], by_answer, year)]


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


def next_deadline(organisation_id: uuid.UUID) -> datetime | None:
    """When the next referral still awaiting an answer turns "not answered in time" (the one
    figure that changes with time alone), or None."""
    stmt = (select(func.min(Referral.respond_by)).join(Case, Case.id == Referral.case_id)
            .where(Case.organisation_id == organisation_id,
                   Referral.status == ReferralStatus.SENT.value, Referral.respond_by >= utcnow()))
    found: datetime | None = db.session.execute(stmt).scalar()
    return found


def has_incidents(tables: Iterable[grid.Table]) -> bool:
    """Whether the counted tables hold any consented incident (GBV or not)."""
    return any(n for t in tables if t.family in (Family.GBV, Family.NON_GBV)
               for n in t.counts.values())


def tables(organisation_id: uuid.UUID, year: int) -> list[grid.Table]:
    """Every table's leaf counts for the organisation's year."""
    zone = organisation_zone(organisation_id)
    pop = _Population(organisation_id, year)
    return [*incident_tables(pop), *referral_tables(organisation_id, year, zone),
            clinical_table(pop, zone)]
