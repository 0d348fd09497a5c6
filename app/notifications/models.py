"""Notifications: one row per reader, kind and record; read or unread."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Model, UTCDateTime, UUIDPrimaryKey


class Notification(UUIDPrimaryKey, Model):
    """Something ``user`` should look at: a kind and a record, nothing else."""

    __tablename__ = "notifications"
    __table_args__ = (
        # the bell: unread notifications of one user (read_at IS NULL)
        Index("ix_notifications_user_read", "user_id", "read_at"),
        # one notification per user and occasion (the clinical-window scan runs every few
        # minutes and must tell once)
        UniqueConstraint("user_id", "occasion", name="uq_notifications_user_occasion"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    # a code that makes a repeated announcement of the same occasion a no-op (or None)
    occasion: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow,
                                                 index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
