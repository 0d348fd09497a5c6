"""Programme activity logs: community awareness sessions and staff trainings, counts only.

A log says where (one of the organisation's sites), when, about what (a coded topic) and how
many people took part, by sex and age band (awareness) or by sex and organisation (trainings).
It never says who: there is no name, no free text and no sealed field on either table, so
nothing here can identify a person, and every column may be counted by the statistics.

Cells (column names), each a whole number:

- awareness sessions: ``female_10_14`` … ``female_50_plus`` and ``male_10_14`` …
  ``male_50_plus`` (sex × the age bands 10–14, 15–19, 20–24, 25–49, 50+);
- staff trainings: ``female_own``, ``male_own`` (staff of the logging organisation) and
  ``female_partner``, ``male_partner`` (staff of partner organisations).
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model, Timestamps, UUIDPrimaryKey, Versioned
from app.directory.models import Site

TOPIC_MAX = 40  # a topic code's length


class AwarenessTopic(StrEnum):
    """What a community awareness session was about (``OTHER`` last wherever offered)."""

    GBV_BASICS = "gbv_basics"
    SERVICES_REFERRAL_PATHWAY = "services_referral_pathway"
    EARLY_MARRIAGE = "early_marriage"
    PSYCHOSOCIAL_WELLBEING = "psychosocial_wellbeing"
    SAFETY_PLANNING = "safety_planning"
    OTHER = "other"


class TrainingTopic(StrEnum):
    """What a staff training was about (``OTHER`` last wherever offered)."""

    GBV_CORE_CONCEPTS = "gbv_core_concepts"
    CASE_MANAGEMENT = "case_management"
    CLINICAL_MANAGEMENT_OF_RAPE = "clinical_management_of_rape"
    PSYCHOLOGICAL_FIRST_AID = "psychological_first_aid"
    GBVIMS_DATA_PROTECTION = "gbvims_data_protection"
    SAFE_REFERRALS = "safe_referrals"
    OTHER = "other"


SEXES = ("female", "male")
AGE_BANDS = ("10_14", "15_19", "20_24", "25_49", "50_plus")
ORGANISATION_KINDS = ("own", "partner")
AWARENESS_CELLS = tuple(f"{sex}_{band}" for sex in SEXES for band in AGE_BANDS)
TRAINING_CELLS = tuple(f"{sex}_{kind}" for sex in SEXES for kind in ORGANISATION_KINDS)


def _count(name: str) -> Mapped[int]:
    return mapped_column(name, Integer, nullable=False, default=0)


def _not_negative(cells: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(" AND ".join(f"{c} >= 0" for c in cells), name="counts_not_negative")


class AwarenessSession(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """One community awareness session: site, date, topic, and people reached (counts)."""

    __tablename__ = "awareness_sessions"
    __table_args__ = (Index("ix_awareness_sessions_site_held_on", "site_id", "held_on"),
                      _not_negative(AWARENESS_CELLS))

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX), nullable=False)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    female_10_14: Mapped[int] = _count("female_10_14")
    female_15_19: Mapped[int] = _count("female_15_19")
    female_20_24: Mapped[int] = _count("female_20_24")
    female_25_49: Mapped[int] = _count("female_25_49")
    female_50_plus: Mapped[int] = _count("female_50_plus")
    male_10_14: Mapped[int] = _count("male_10_14")
    male_15_19: Mapped[int] = _count("male_15_19")
    male_20_24: Mapped[int] = _count("male_20_24")
    male_25_49: Mapped[int] = _count("male_25_49")
    male_50_plus: Mapped[int] = _count("male_50_plus")

    site: Mapped[Site] = relationship()

    @property
    def total(self) -> int:
        """Everyone reached (the sum of the cells)."""
        return sum(int(getattr(self, c)) for c in AWARENESS_CELLS)


class StaffTraining(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """One staff training: site, date, topic, and people trained (counts)."""

    __tablename__ = "staff_trainings"
    __table_args__ = (Index("ix_staff_trainings_site_held_on", "site_id", "held_on"),
                      _not_negative(TRAINING_CELLS))

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX), nullable=False)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    female_own: Mapped[int] = _count("female_own")
    male_own: Mapped[int] = _count("male_own")
    female_partner: Mapped[int] = _count("female_partner")
    male_partner: Mapped[int] = _count("male_partner")

    site: Mapped[Site] = relationship()

    @property
    def total(self) -> int:
        """Everyone trained (the sum of the cells)."""
        return sum(int(getattr(self, c)) for c in TRAINING_CELLS)


ActivityLog = AwarenessSession | StaffTraining
