"""The statistics' tables, as data: each table's code, translated title, family and category
dimensions (codes in order, with their labels). ``app.reports.queries`` counts them,
``app.reports.suppression`` protects them and the pages and exports show them.

Choices (shared/GBVIMS.md, *Monthly statistics*; issue 15):

- **Families.** Tables of one family count one population, so their grand totals are one
  shared cell of the grid (``app.reports.grid``): every table of a family must sum to the
  family's total. Where a field may be empty a ``not_recorded`` category is added, so nothing
  falls out of a table.
- **GBV** (``gbv``): incidents whose core type is not ``non_gbv``, whose case's *latest*
  reporting consent (``ConsentRecord`` of kind ``reporting``, highest position) is granted
  when the statistics are computed (a withdrawal removes the case's incidents from every
  statistic computed after it), counted by the month of ``Incident.reported_date`` (a date
  without a time, already the organisation's day), at the case's site. Tables: core type;
  survivor sex (the case's) x age group at the incident (``gbvims.age_group`` of the recorded
  age; ``unknown`` when the age is unknown); displacement status at report (the case's);
  stage of displacement at the incident; location type; time of day; time from incident to
  report (the stored band); number of perpetrators (the GBVIMS band); perpetrator sex per
  incident (``female`` or ``male`` when every perpetrator recorded is of that sex,
  ``female_and_male`` when both are recorded, ``unknown`` when a perpetrator's sex is not known
  and both are not recorded, ``not_recorded`` when the incident has no perpetrator record);
  the primary perpetrator's (position 1, the Incident Recorder's convention) age group,
  relationship and occupation (``not_recorded`` without one); and one table per case context
  with ``applies`` / ``does_not_apply`` (the page shows only the ``applies`` row; both are cells
  of the grid, so the complement a reader could work out is protected too).
- **Not GBV** (``non_gbv``): the consented ``non_gbv`` incidents, one count, on its own line.
- **Referrals** (``referrals``): referrals of consented cases (the same consent rule), by the
  month they were sent in the organisation's time zone, at the case's site, by service type x
  outcome. The outcome is one partition of ``ReferralStatus`` and the response deadline
  (``Referral.respond_by``, set by the referrals service from the urgency): accepted,
  declined, completed (by the referral's current status: a late answer counts as its answer),
  withdrawn (revoked, by the sender or because consent was withdrawn), not answered in time
  (still "sent" past its deadline), awaiting answer (still "sent", deadline not passed).
- **72 hours** (``clinical72``): consented rape incidents reported within 72 hours, that is
  reported on a day that starts before the incident's 72-hour clinical window closes
  (``gbvims.clinical_window_end`` in the organisation's zone, the rule that marks
  ``urgent_clinical``), by month of report: ``referred`` when a ``health_medical`` referral of
  the case was sent between the start of the incident's day and the window's end (whatever
  became of it afterwards: the indicator is the referral made in time), else ``not_referred``.
  The share is shown only when both counts are published (a share of a withheld count would
  publish a number the suppression did not protect).
- **Referrals answered in time** (``referral_timeliness``, in the referrals family: the same
  referrals, so the same total), by service type x timeliness: ``answered_in_time`` (accepted
  or declined, ``Referral.responded_at``, no later than ``respond_by``) and ``not_in_time``
  (answered late; or no answer and the deadline passed; or revoked unanswered after it),
  grouped as ``answer_due`` (the referrals whose answer was due: the share's denominator is
  this one cell, never a sum); and, outside the group, ``not_due`` (no answer and the
  deadline not passed, or revoked unanswered before it). The programme manager's home page
  shows the share per service only when both cells are published. Three categories only: a
  table of this family lengthens the year's suppression (``bench/bench_statistics.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from app.cases import gbvims
from app.cases.labels import Domain, label
from app.cases.models import SEXES
from app.reports import grid

NOT_RECORDED = "not_recorded"
APPLIES, DOES_NOT_APPLY = "applies", "does_not_apply"
FEMALE_AND_MALE = "female_and_male"
REFERRED, NOT_REFERRED = "referred", "not_referred"


class Family(StrEnum):
    """The populations the tables count (each family's grand total is one shared cell)."""

    GBV = "gbv"
    NON_GBV = "non_gbv"
    REFERRALS = "referrals"
    CLINICAL72 = "clinical72"


class Outcome(StrEnum):
    """Where a referral stands, for the statistics (one partition: each referral in one)."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    NOT_ANSWERED_IN_TIME = "not_answered_in_time"
    AWAITING_ANSWER = "awaiting_answer"
    WITHDRAWN = "withdrawn"


class Timeliness(StrEnum):
    """Whether a referral was answered by its deadline (one partition, like ``Outcome``; as
    few categories as the share needs: each one more lengthens the year's suppression)."""

    ANSWERED_IN_TIME = "answered_in_time"
    NOT_IN_TIME = "not_in_time"
    NOT_DUE = "not_due"


#: The group of the referrals whose answer was due (answered, or the deadline passed).
ANSWER_DUE = "answer_due"
DUE = (Timeliness.ANSWERED_IN_TIME.value, Timeliness.NOT_IN_TIME.value)


FAMILY_TITLES: dict[Family, Any] = {
    Family.GBV: _l("GBV incidents reported"),
    Family.NON_GBV: _l("Incidents reported that were not GBV"),
    Family.REFERRALS: _l("Referrals sent"),
    Family.CLINICAL72: _l("Rape reported within 72 hours"),
}

SPECIAL_LABELS: dict[str, Any] = {
    NOT_RECORDED: _l("Not recorded"),
    APPLIES: _l("Applies"),
    DOES_NOT_APPLY: _l("Does not apply"),
    FEMALE_AND_MALE: _l("Female and male"),
    REFERRED: _l("Referred for clinical care within 72 hours"),
    NOT_REFERRED: _l("Not referred for clinical care within 72 hours"),
    Outcome.ACCEPTED: _l("Accepted"),
    Outcome.DECLINED: _l("Declined"),
    Outcome.COMPLETED: _l("Completed"),
    Outcome.NOT_ANSWERED_IN_TIME: _l("Not answered in time"),
    Outcome.AWAITING_ANSWER: _l("Awaiting an answer"),
    Outcome.WITHDRAWN: _l("Withdrawn"),
    Timeliness.ANSWERED_IN_TIME: _l("Answered in time"),
    Timeliness.NOT_IN_TIME: _l("Answered late or not at all"),
    Timeliness.NOT_DUE: _l("No answer due yet, or withdrawn before it was due"),
    ANSWER_DUE: _l("Answer due"),
}


def _labels(domain: Domain | None) -> Callable[[str], str]:
    def of(code: str) -> str:
        if code in SPECIAL_LABELS:
            return str(SPECIAL_LABELS[code])
        return label(code, domain) if domain is not None else code
    return of


@dataclass(frozen=True)
class Category:
    """A category dimension of a table: its codes in order and how each is labelled."""

    name: str
    title: Any
    codes: tuple[str, ...]
    domain: Domain | None = None
    #: The rows a page shows (all by default); the others are still cells of the grid.
    shown: tuple[str, ...] | None = None
    #: Groups of codes that are cells of their own (a group's total), like the quarters.
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def dim(self) -> grid.Dim:
        return grid.Dim(self.name, tuple(self.codes), self.groups)

    def label(self, code: str) -> str:
        return _labels(self.domain)(code)

    @property
    def rows(self) -> tuple[str, ...]:
        return self.shown if self.shown is not None else self.codes


@dataclass(frozen=True)
class TableDef:
    """One table: a code, a translated title, its family and its category dimensions."""

    code: str
    family: Family
    title: Any
    cats: tuple[Category, ...]

    def dims(self) -> tuple[grid.Dim, ...]:
        return tuple(c.dim() for c in self.cats)


def _codes(values: Any, *extra: str) -> tuple[str, ...]:
    return (*(str(v) for v in values), *extra)


GBV_TYPES = tuple(str(t) for t in gbvims.CoreType if t != gbvims.NON_GBV)
PERPETRATOR_SEXES = ("female", "male", FEMALE_AND_MALE, "unknown", NOT_RECORDED)
CLINICAL_CATEGORIES = (REFERRED, NOT_REFERRED)


class _ContextTitle:
    """A context table's title, translated when shown (the context's label)."""

    def __init__(self, ctx: gbvims.Context) -> None:
        self.ctx = ctx

    def __str__(self) -> str:
        return label(self.ctx, Domain.CONTEXT)


def _contexts() -> tuple[TableDef, ...]:
    return tuple(TableDef(f"context_{ctx}", Family.GBV, _ContextTitle(ctx), (
        Category("context", _l("Case context"), (APPLIES, DOES_NOT_APPLY), shown=(APPLIES,)),))
        for ctx in gbvims.Context)


TABLES: tuple[TableDef, ...] = (
    TableDef("core_type", Family.GBV, _l("Incidents by type of GBV"), (
        Category("core_type", _l("Type of GBV"), GBV_TYPES, Domain.CORE_TYPE),)),
    TableDef("survivor_sex_age", Family.GBV, _l("Survivors by sex and age at the incident"), (
        Category("sex", _l("Sex"), SEXES, Domain.SEX),
        Category("age_group", _l("Age group"), _codes(gbvims.AgeGroup), Domain.AGE_GROUP))),
    TableDef("displacement", Family.GBV, _l("Displacement status at report"), (
        Category("displacement", _l("Displacement status"), _codes(gbvims.Displacement),
                 Domain.DISPLACEMENT),)),
    TableDef("displacement_stage", Family.GBV, _l("Stage of displacement at the incident"), (
        Category("displacement_stage", _l("Stage of displacement"),
                 _codes(gbvims.DisplacementStage), Domain.DISPLACEMENT_STAGE),)),
    TableDef("location_type", Family.GBV, _l("Type of place of the incident"), (
        Category("location_type", _l("Type of place"), _codes(gbvims.LocationType),
                 Domain.LOCATION_TYPE),)),
    TableDef("time_of_day", Family.GBV, _l("Time of day of the incident"), (
        Category("time_of_day", _l("Time of day"), _codes(gbvims.TimeOfDay),
                 Domain.TIME_OF_DAY),)),
    TableDef("report_band", Family.GBV, _l("Time from incident to report"), (
        Category("report_band", _l("Time to report"), _codes(gbvims.ReportBand),
                 Domain.REPORT_BAND),)),
    TableDef("perpetrator_count", Family.GBV, _l("Number of perpetrators"), (
        Category("perpetrator_count", _l("Number of perpetrators"),
                 _codes(gbvims.PerpetratorCount), Domain.PERPETRATOR_COUNT),)),
    TableDef("perpetrator_sex", Family.GBV, _l("Sex of the perpetrators"), (
        Category("perpetrator_sex", _l("Sex of the perpetrators"), PERPETRATOR_SEXES,
                 Domain.SEX),)),
    TableDef("perpetrator_age", Family.GBV, _l("Age group of the primary perpetrator"), (
        Category("perpetrator_age", _l("Age group"), _codes(gbvims.AgeGroup, NOT_RECORDED),
                 Domain.AGE_GROUP),)),
    TableDef("perpetrator_relationship", Family.GBV,
             _l("Relationship of the primary perpetrator to the survivor"), (
        Category("relationship", _l("Relationship"), _codes(gbvims.Relationship, NOT_RECORDED),
                 Domain.RELATIONSHIP),)),
    TableDef("perpetrator_occupation", Family.GBV, _l("Occupation of the primary perpetrator"), (
        Category("occupation", _l("Occupation"), _codes(gbvims.Occupation, NOT_RECORDED),
                 Domain.OCCUPATION),)),
    *_contexts(),
    TableDef("non_gbv", Family.NON_GBV, _l("Incidents reported that were not GBV"), ()),
    TableDef("referrals", Family.REFERRALS, _l("Referrals by type of service and outcome"), (
        Category("service_type", _l("Type of service"), _codes(gbvims.ServiceType),
                 Domain.SERVICE_TYPE),
        Category("outcome", _l("Outcome"), _codes(Outcome)))),
    TableDef("referral_timeliness", Family.REFERRALS,
             _l("Referrals by type of service: answered in time"), (
        Category("service_type", _l("Type of service"), _codes(gbvims.ServiceType),
                 Domain.SERVICE_TYPE),
        Category("timeliness", _l("Answer"), _codes(Timeliness),
                 groups=((ANSWER_DUE, DUE),)))),
    TableDef("clinical72", Family.CLINICAL72,
             _l("Rape reported within 72 hours: referred for clinical care within 72 hours"), (
        Category("clinical72", _l("Clinical care"), CLINICAL_CATEGORIES),)),
)

BY_CODE: Mapping[str, TableDef] = {t.code: t for t in TABLES}
CONTEXT_TABLES = tuple(t for t in TABLES if t.code.startswith("context_"))
