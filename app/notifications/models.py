"""Notifications: one row per reader, kind and record; read or unread. And the outbox of the
optional email that tells a reader there are new ones (``app.notifications.email``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, Uuid, text
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


class EmailMessage(UUIDPrimaryKey, Model):
    """One email to send to ``user_id``: "there are N new items" (N counted when it is sent).

    Holds no address and no content, only when to try and how it went; ``last_error`` is a short
    code (``app.notifications.email.Failure``), never the server's words or the address.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (
        Index("ix_email_outbox_due", "status", "next_attempt_at"),
        # one message per user waiting or being sent: announcements coalesce, even two
        # at once (N is counted when it is sent)
        Index("uq_email_outbox_open_user", "user_id", unique=True,
              sqlite_where=text("status IN ('pending', 'sending')"),
              postgresql_where=text("status IN ('pending', 'sending')")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(32))
