"""The programme logs as leaf counts of the publication grid (``app.reports.grid``), for one
organisation and one calendar year: what the programme impact page suppresses and shows.

Each log is counted in the month of its date (``held_on``, a local date as the coordinator gave
it) and at its site (``str(site_id)``: the leaves of ``grid.places``). Only the coded columns
are read (site, date, topic, counts), with one GROUP BY query per kind; there is nothing sealed
on these tables. The families and their tables:

- ``awareness_people``: people reached by awareness sessions, table ``AWARENESS_PEOPLE`` by
  sex (female, male) × age band (10_14, 15_19, 20_24, 25_49, 50_plus);
- ``awareness_sessions``: awareness sessions held, table ``AWARENESS_SESSIONS`` by topic;
- ``training_people``: people trained, table ``TRAINING_PEOPLE`` by sex × organisation kind
  (own, partner);
- ``trainings``: staff trainings held, table ``TRAININGS`` by topic.

A family counts one population, so its tables' grand totals are one cell (each family has one
table today; a later table of people reached by topic would join ``awareness_people``).
Months after ``through`` are not counted (the grid of the current year stops at the current
month, ``grid.months(year, through)``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from sqlalchemy import extract, func, select

from app.db import db
from app.directory.models import Site
from app.programme.models import AGE_BANDS, ORGANISATION_KINDS, SEXES
from app.programme.rules import AWARENESS, TRAINING, Kind
from app.reports.grid import Table, categories

AWARENESS_PEOPLE = "awareness_people_by_sex_age"
AWARENESS_SESSIONS = "awareness_sessions_by_topic"
TRAINING_PEOPLE = "training_people_by_sex_organisation"
TRAININGS = "trainings_by_topic"
SEX = categories("sex", SEXES)
AGE_BAND = categories("age_band", AGE_BANDS)
ORGANISATION_KIND = categories("organisation_kind", ORGANISATION_KINDS)
AWARENESS_TOPIC = categories("awareness_topic", AWARENESS.topics)
TRAINING_TOPIC = categories("training_topic", TRAINING.topics)


def site_leaves(organisation_id: uuid.UUID) -> list[str]:
    """Every site of the organisation (closed ones too: their past logs count), as the leaves
    of ``grid.places``, in a stable order (by code)."""
    return [str(i) for i in db.session.execute(
        select(Site.id).where(Site.organisation_id == organisation_id).order_by(Site.code)
    ).scalars()]


def _rows(kind: Kind, organisation_id: uuid.UUID, year: int, through: int
          ) -> Iterator[tuple[str, str, str, int, dict[str, int]]]:
    """(month leaf, site leaf, topic, logs, {cell: people}) per month, site and topic."""
    model = kind.model
    first = date(year, 1, 1)
    end = date(year + 1, 1, 1) if through >= 12 else date(year, through + 1, 1)
    month = extract("month", model.held_on).label("month")
    stmt = (select(model.site_id, month, model.topic, func.count(model.id),
                   *[func.coalesce(func.sum(getattr(model, c)), 0) for c in kind.cells])
            .join(Site, Site.id == model.site_id)
            .where(Site.organisation_id == organisation_id, model.held_on >= first,
                   model.held_on < end)
            .group_by(model.site_id, month, model.topic))
    for site_id, m, topic, logs, *sums in db.session.execute(stmt):
        yield (f"{year:04d}-{int(m):02d}", str(site_id), str(topic), int(logs),
               dict(zip(kind.cells, (int(s) for s in sums), strict=True)))


def _kept(counts: dict[tuple[str, ...], int]) -> dict[tuple[str, ...], int]:
    return {key: n for key, n in counts.items() if n}


def awareness_tables(organisation_id: uuid.UUID, year: int, through: int = 12) -> list[Table]:
    """People reached by sex × age band, and sessions by topic."""
    people: dict[tuple[str, ...], int] = defaultdict(int)
    sessions: dict[tuple[str, ...], int] = defaultdict(int)
    for month, site, topic, logs, cells in _rows(AWARENESS, organisation_id, year, through):
        sessions[(month, site, topic)] += logs
        for sex in SEXES:
            for band in AGE_BANDS:
                people[(month, site, sex, band)] += cells[f"{sex}_{band}"]
    return [Table(AWARENESS_PEOPLE, "awareness_people", (SEX, AGE_BAND), _kept(people)),
            Table(AWARENESS_SESSIONS, "awareness_sessions", (AWARENESS_TOPIC,), _kept(sessions))]


def training_tables(organisation_id: uuid.UUID, year: int, through: int = 12) -> list[Table]:
    """People trained by sex × organisation kind, and trainings by topic."""
    people: dict[tuple[str, ...], int] = defaultdict(int)
    trainings: dict[tuple[str, ...], int] = defaultdict(int)
    for month, site, topic, logs, cells in _rows(TRAINING, organisation_id, year, through):
        trainings[(month, site, topic)] += logs
        for sex in SEXES:
            for kind in ORGANISATION_KINDS:
                people[(month, site, sex, kind)] += cells[f"{sex}_{kind}"]
    return [Table(TRAINING_PEOPLE, "training_people", (SEX, ORGANISATION_KIND), _kept(people)),
            Table(TRAININGS, "trainings", (TRAINING_TOPIC,), _kept(trainings))]


def tables(organisation_id: uuid.UUID, year: int, through: int = 12) -> list[Table]:
    """Every programme-log table of the organisation's year (``through``: its last month)."""
    if not 1 <= through <= 12:
        raise ValueError("through must be a month number")
    return (awareness_tables(organisation_id, year, through)
            + training_tables(organisation_id, year, through))
