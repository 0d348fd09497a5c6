"""Safe-space activity types and session logs.

A session log records attendance as counts only, never who came: a list of the women and girls
attending a GBV safe space is itself dangerous. The counts stay clear (they feed the monthly
summary); the notes are sealed under the session's own data key.

Attendance cells follow the age bands 10–14, 15–19, 20–24, 25–49 and 50+ split by sex, where
girls are under 18 and women 18 and over. So girls appear only in 10–14 and 15–19 (ages 15–17)
and women only from 15–19 (ages 18–19) up: six cells, no others (see ``rules.CELLS``).
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.text import TEXT_MAX
from app.crypto.fields import SealedLongText, SealedRecord
from app.db import Base, Model, Timestamps, UUIDPrimaryKey, Versioned
from app.directory.models import SafeSpace

NOTES_MAX = TEXT_MAX
TOPIC_MAX = 120
AREA_MAX = 80
COUNT_COLUMNS = ("girls_10_14", "girls_15_19", "women_15_19", "women_20_24", "women_25_49",
                 "women_50_plus", "new_participants", "returning_participants",
                 "with_disabilities", "case_management_requests", "referrals_made")



class DefaultActivity(StrEnum):
    """The activity types every installation starts with (seeded by migration 0006; admins may
    add others, so ``ActivityType.code`` is any code, these among them). ``OTHER`` is listed
    last wherever types are offered."""

    LIFE_SKILLS = "life_skills"
    PSYCHOSOCIAL_SUPPORT = "psychosocial_support"
    RECREATION = "recreation"
    AWARENESS = "awareness"
    SKILLS_TRAINING = "skills_training"
    LITERACY_NUMERACY = "literacy_numeracy"
    MOBILE_OUTREACH = "mobile_outreach"
    OTHER = "other"


session_facilitators = Table(
    "wgss_session_facilitators",
    Base.metadata,
    Column("session_id", Uuid, ForeignKey("wgss_sessions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
)


class ActivityType(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """A kind of safe-space activity; admins add, rename and deactivate them (never delete:
    old sessions keep pointing at them)."""

    __tablename__ = "activity_types"

    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(80), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


def _count(name: str) -> Mapped[int]:
    return mapped_column(name, Integer, nullable=False, default=0)


class WgssSession(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """One session held in a safe space: what, when, who facilitated, and how many came."""

    __tablename__ = "wgss_sessions"
    __table_args__ = (
        Index("ix_wgss_sessions_space_held_on", "safe_space_id", "held_on"),
        CheckConstraint(" AND ".join(f"{c} >= 0" for c in COUNT_COLUMNS), name="counts_not_negative"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    safe_space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("safe_spaces.id"), index=True)
    activity_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activity_types.id"),
                                                        index=True)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    # Mobile safe spaces only: the name of an area (a neighbourhood, a camp), never an address.
    outreach_area: Mapped[str | None] = mapped_column(String(AREA_MAX))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # Attendance: counts only (see the module docstring for the cells).
    girls_10_14: Mapped[int] = _count("girls_10_14")
    girls_15_19: Mapped[int] = _count("girls_15_19")      # ages 15–17
    women_15_19: Mapped[int] = _count("women_15_19")      # ages 18–19
    women_20_24: Mapped[int] = _count("women_20_24")
    women_25_49: Mapped[int] = _count("women_25_49")
    women_50_plus: Mapped[int] = _count("women_50_plus")
    new_participants: Mapped[int] = _count("new_participants")
    returning_participants: Mapped[int] = _count("returning_participants")
    with_disabilities: Mapped[int] = _count("with_disabilities")
    case_management_requests: Mapped[int] = _count("case_management_requests")
    referrals_made: Mapped[int] = _count("referrals_made")
    notes = SealedLongText(max_length=NOTES_MAX)

    safe_space: Mapped[SafeSpace] = relationship()
    activity_type: Mapped[ActivityType] = relationship()
    facilitators: Mapped[list[User]] = relationship(secondary=session_facilitators,
                                                    order_by="User.display_name")

    @property
    def total(self) -> int:
        """Everyone who attended (the sum of the six attendance cells)."""
        return (self.girls_10_14 + self.girls_15_19 + self.women_15_19 + self.women_20_24
                + self.women_25_49 + self.women_50_plus)
