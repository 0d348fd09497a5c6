"""The organisation's own incident list in the column layout of the GBVIMS Incident Recorder.

One row per incident whose case's newest consent for reporting (non-identifying statistics) is
granted. Only coded, clear columns are read, through column queries (never an ORM load of a
sealed record, so nothing is ever decrypted); nothing from a sealed field, no case number, no
name, no id. Each row gets a fresh code (``IR-0001``...) in report-date order, with incidents
reported on the same day in a random order, so a code says nothing about which case it is and
two exports cannot be joined to the case list through it.

A referral belongs to the incident of its case that was reported most recently on or before the
day it was sent (the earliest incident when it was sent before any), so a case with two
incidents does not count its referrals twice.
"""

from __future__ import annotations

import bisect
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, select

from app.cases import gbvims
from app.cases.consent import ConsentKind
from app.cases.labels import Domain, label
from app.cases.models import Case, ConsentRecord, Incident, IncidentPerpetrator
from app.clock import utcnow
from app.db import db
from app.directory.models import Site
from app.localtime import organisation_zone
from app.referrals.models import Referral, ReferralStatus

#: The standard caveat (the statistics contract): the first line of every export.
CAVEAT = _l("These figures cover reported incidents only, from survivors who consented to "
            "non-identifying statistics. They are not a measure of prevalence.")
NO = "no"
YES = "yes"
#: A referral still "sent" after its answer was due.
NOT_ANSWERED_IN_TIME = "not_answered_in_time"
PERPETRATOR_FIELDS = ("sex", "age_group", "relationship", "occupation")
Query = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Column:
    """A column: its stable code (header row) and its translated label (second row)."""

    code: str
    label: Any


def _perpetrator_columns() -> list[Column]:
    labels = {"sex": _l("Perpetrator %(n)d: sex"), "age_group": _l("Perpetrator %(n)d: age group"),
              "relationship": _l("Perpetrator %(n)d: relationship to the survivor"),
              "occupation": _l("Perpetrator %(n)d: occupation")}
    return [Column(f"perpetrator_{n}_{name}", _Numbered(labels[name], n))
            for n in range(1, gbvims.MAX_PERPETRATORS + 1) for name in PERPETRATOR_FIELDS]


def _referral_columns() -> list[Column]:
    out = []
    for service in gbvims.SERVICE_TYPES:
        out += [Column(f"referral_{service}", _Service(_l("Referred to %(service)s"), service)),
                Column(f"referral_{service}_outcome",
                       _Service(_l("Referral to %(service)s: outcome"), service))]
    return out


class _Numbered:
    """A label with a perpetrator's number, translated when shown."""

    def __init__(self, text: Any, n: int) -> None:
        self.text, self.n = text, n

    def __str__(self) -> str:
        return str(self.text) % {"n": self.n}


class _Service:
    """A label naming a service type, translated when shown."""

    def __init__(self, text: Any, service: str) -> None:
        self.text, self.service = text, service

    def __str__(self) -> str:
        return str(self.text) % {"service": label(self.service, Domain.SERVICE_TYPE)}


COLUMNS: tuple[Column, ...] = (
    Column("incident_code", _l("Incident code")),
    Column("report_date", _l("Date of first report")),
    Column("incident_date", _l("Date of the incident")),
    Column("incident_date_approximate", _l("Incident date approximate")),
    Column("survivor_sex", _l("Survivor's sex")),
    Column("survivor_age_group", _l("Survivor's age group at the incident")),
    Column("displacement_status", _l("Displacement status at report")),
    Column("displacement_stage", _l("Stage of displacement at the incident")),
    Column("nationality_group", _l("Survivor's nationality")),
    Column("disability", _l("Survivor has a disability")),
    Column("core_type", _l("Type of incident")),
    Column("case_contexts", _l("Case contexts")),
    Column("location_type", _l("Type of place")),
    Column("time_of_day", _l("Time of day")),
    Column("report_band", _l("Time from incident to report")),
    Column("perpetrator_count", _l("Number of perpetrators")),
    *_perpetrator_columns(),
    *_referral_columns(),
    Column("site", _l("Site")),
)
CODES = tuple(c.code for c in COLUMNS)


@dataclass(frozen=True)
class Period:
    """What to export: incidents reported in one calendar year, or in every year (None)."""

    year: int | None = None

    def audit_reason(self) -> str:
        """The filter as the trail records it."""
        return "all_years" if self.year is None else f"year:{self.year}"

    @property
    def file_part(self) -> str:
        return "all-years" if self.year is None else str(self.year)


def consented_cases() -> Query:
    """Ids of cases whose newest consent for reporting is granted (a withdrawal, being newer,
    takes the case out)."""
    newest = (select(ConsentRecord.case_id, func.max(ConsentRecord.position).label("position"))
              .where(ConsentRecord.kind == ConsentKind.REPORTING.value)
              .group_by(ConsentRecord.case_id).subquery())
    return (select(ConsentRecord.case_id)
            .join(newest, and_(ConsentRecord.case_id == newest.c.case_id,
                               ConsentRecord.position == newest.c.position))
            .where(ConsentRecord.kind == ConsentKind.REPORTING.value,
                   ConsentRecord.granted.is_(True)))


def _incidents(organisation_id: uuid.UUID, period: Period) -> Query:
    stmt: Query = (
        select(Incident.id, Incident.case_id, Incident.reported_date, Incident.incident_date,
               Incident.date_is_approximate, Incident.survivor_age_at_incident,
               Incident.displacement_stage, Incident.core_type, Incident.contexts,
               Incident.location_type, Incident.time_of_day, Incident.report_band,
               Incident.perpetrator_count, Case.sex, Case.displacement_status,
               Case.nationality_group, Case.disability, Site.code.label("site_code"))
        .join(Case, Case.id == Incident.case_id)
        .join(Site, Site.id == Case.site_id)
        .where(Case.organisation_id == organisation_id,
               Incident.case_id.in_(consented_cases())))
    if period.year is not None:
        stmt = stmt.where(Incident.reported_date >= date(period.year, 1, 1),
                          Incident.reported_date <= date(period.year, 12, 31))
    return stmt


def _perpetrators(incident_ids: Query) -> dict[uuid.UUID, dict[int, Any]]:
    rows = db.session.execute(
        select(IncidentPerpetrator.incident_id, IncidentPerpetrator.position,
               IncidentPerpetrator.sex, IncidentPerpetrator.age_group,
               IncidentPerpetrator.relationship, IncidentPerpetrator.occupation)
        .where(IncidentPerpetrator.incident_id.in_(incident_ids)))
    found: dict[uuid.UUID, dict[int, Any]] = defaultdict(dict)
    for r in rows:
        found[r.incident_id][r.position] = r
    return found


def _referral_outcome(r: Any, now: datetime) -> str:
    if r.status == ReferralStatus.COMPLETED and r.outcome:
        return str(r.outcome)
    if r.status == ReferralStatus.SENT and r.respond_by is not None and r.respond_by < now:
        return NOT_ANSWERED_IN_TIME
    return str(r.status)


def _referrals(organisation_id: uuid.UUID, case_ids: Query
               ) -> dict[uuid.UUID, dict[str, str]]:
    """Per incident, per service type, the outcome of its newest referral of that type."""
    zone = organisation_zone(organisation_id)
    reported: dict[uuid.UUID, list[tuple[date, str, uuid.UUID]]] = defaultdict(list)
    for i in db.session.execute(select(Incident.case_id, Incident.reported_date, Incident.id)
                                .where(Incident.case_id.in_(case_ids))):
        # Ties on a day are broken by id: arbitrary but the same for every referral of the case.
        reported[i.case_id].append((i.reported_date, str(i.id), i.id))
    for items in reported.values():
        items.sort()
    now = utcnow()
    newest: dict[tuple[uuid.UUID, str], tuple[datetime, str]] = {}
    for r in db.session.execute(
            select(Referral.case_id, Referral.service_type, Referral.status, Referral.outcome,
                   Referral.respond_by, Referral.sent_at)
            .where(Referral.case_id.in_(case_ids))):
        items = reported.get(r.case_id, [])
        if not items:
            continue
        sent_on = r.sent_at.astimezone(zone).date()
        at = bisect.bisect_right([d for d, _tie, _id in items], sent_on) - 1
        incident_id = items[max(at, 0)][2]
        key = (incident_id, r.service_type)
        if key not in newest or newest[key][0] < r.sent_at:
            newest[key] = (r.sent_at, _referral_outcome(r, now))
    found: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
    for (incident_id, service), (_sent, outcome) in newest.items():
        found[incident_id][service] = outcome
    return found


def _row(code: str, r: Any, perpetrators: dict[int, Any], referrals: dict[str, str]
         ) -> list[str]:
    cells = [code, r.reported_date.isoformat(), r.incident_date.isoformat(),
             YES if r.date_is_approximate else NO, r.sex,
             gbvims.age_group(r.survivor_age_at_incident).value, r.displacement_status,
             r.displacement_stage, r.nationality_group, r.disability, r.core_type,
             ", ".join(c for c in r.contexts.split(",") if c), r.location_type, r.time_of_day,
             r.report_band, r.perpetrator_count]
    for n in range(1, gbvims.MAX_PERPETRATORS + 1):
        p = perpetrators.get(n)
        cells += [getattr(p, name) if p is not None else "" for name in PERPETRATOR_FIELDS]
    for service in gbvims.SERVICE_TYPES:
        outcome = referrals.get(service)
        cells += [YES if outcome else NO, outcome or ""]
    cells.append(r.site_code)
    return [str(c) for c in cells]


def rows(organisation_id: uuid.UUID, period: Period) -> list[list[str]]:
    """The export's data rows (codes in every cell), in report-date order."""
    stmt = _incidents(organisation_id, period)
    found = list(db.session.execute(stmt))
    if not found:
        return []
    ids = stmt.with_only_columns(Incident.id)
    perpetrators = _perpetrators(ids)
    referrals = _referrals(organisation_id, stmt.with_only_columns(Incident.case_id))
    shuffle = {r.id: secrets.randbits(64) for r in found}
    found.sort(key=lambda r: (r.reported_date, shuffle[r.id]))
    width = max(4, len(str(len(found))))
    return [_row(f"IR-{i:0{width}d}", r, perpetrators.get(r.id, {}), referrals.get(r.id, {}))
            for i, r in enumerate(found, start=1)]


def header_rows() -> list[list[str]]:
    """The caveat line, the column codes and the column labels (in the user's language)."""
    return [[str(CAVEAT)], list(CODES), [str(c.label) for c in COLUMNS]]


def table(organisation_id: uuid.UUID, period: Period) -> tuple[list[list[str]], int]:
    """Every line of the export (headers first) and the number of incidents in it."""
    data = rows(organisation_id, period)
    return header_rows() + data, len(data)


def years_offered(this_year: int, back: int = 15) -> Sequence[int]:
    """The years the filter offers, newest first."""
    return tuple(range(this_year, this_year - back - 1, -1))
