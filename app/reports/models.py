"""The statistics' change stamps: one row per organisation, rewritten by every commit that
changes what its statistics count (``app.reports.freshness``).

A stamp is a random value, not a counter: a database restored from a backup, or rebuilt by a
test, can never present an old stamp for different data.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model, UTCDateTime


class StatisticsStamp(Model):
    """When an organisation's counted records last changed, and last lost an incident."""

    __tablename__ = "statistics_stamps"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    # new at every change to a counted record (incident, perpetrator, case, consent, referral,
    # site)
    changed: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    # new when an incident may have left the statistics (a consent decision, a deleted case,
    # incident or referral): figures counted before it are never shown again
    removed: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
