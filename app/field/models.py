"""Intake keys and pending field intakes.

``IntakeKey``: one P-256 key pair per organisation and version. The public key (65-byte
uncompressed point) is served to the organisation's caseworkers' devices; the private scalar is
sealed under the key's own data key, so it is wrapped by the keyring's KEK like every other
key and follows ``flask keys rotate``. The newest unretired key of an organisation is the one
devices seal to; older unretired keys still open envelopes sealed before a rotation; a retired
key opens nothing (its data key is shredded).

``FieldIntake``: one opened envelope, waiting for its reviewer to search for duplicates and then
open a case or merge it into one. ``submission_id`` (chosen at random on the device, bound
into the envelope's associated data) is unique: an envelope uploaded twice makes one intake.
The reviewer is ``assignee_id`` when a supervisor handed the intake over
(``app.field.handover``), else the uploader ``user_id``; the uploader stays the envelope's
binding either way. The opened submission is sealed in ``payload`` under the intake's own data
key, shredded when the intake is decided. Only what the pending list sorts by is clear: the
urgency flag and the end of the 72-hour clinical window.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedBytes, SealedLongText, SealedRecord
from app.db import Model, UTCDateTime, UUIDPrimaryKey, Versioned

#: Longest opened submission kept (JSON text): the narrative's 20,000 characters and the rest.
PAYLOAD_MAX = 60000


class IntakeStatus:
    """Where a field intake stands (stored codes; never renamed)."""

    PENDING = "pending"
    OPENED = "opened"      # became a new case (``case_id``)
    MERGED = "merged"      # added to an existing case (``case_id``)
    DISCARDED = "discarded"  # recorded in error (nothing kept)


class IntakeKey(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """An organisation's intake key pair (private half sealed)."""

    __tablename__ = "intake_keys"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"),
                                                       index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    private_key = SealedBytes()


class FieldIntake(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """A synced field submission waiting to become (or part of) a case."""

    __tablename__ = "field_intakes"
    __table_args__ = (Index("ix_field_intakes_pending", "user_id", "status", "urgent",
                            "window_ends_at", "captured_at"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"),
                                                       index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    # Who reviews it when a supervisor handed it over (None: the uploader, ``user_id``, who
    # stays the envelope's binding for the sync's duplicate checks).
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(unique=True, nullable=False)
    device_id: Mapped[str] = mapped_column(String(64), nullable=False)
    intake_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_keys.id"), index=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # End of the 72-hour clinical window when the incident is a rape (None otherwise).
    window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), nullable=False,
                                        default=IntakeStatus.PENDING)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    payload = SealedLongText(max_length=PAYLOAD_MAX)
