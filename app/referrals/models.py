"""Referrals and their history.

A referral's shared fields are a copy, sealed under the referral's own data key, so the
recipient reads the referral and never the case, and revoking it destroys that key. Notes the
recipient writes back (a reason for declining, an outcome) belong to the case and are sealed
under the case's key in the referral's history, as is a supervisor's explanation for sending
without consent.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.text import TEXT_MAX
from app.crypto.fields import SealedLongText, SealedRecord, SealedText
from app.db import Model, Timestamps, UTCDateTime, UUIDPrimaryKey, Versioned
from app.directory.models import Service


class ReferralStatus(StrEnum):
    """Where a referral stands (the stored codes of ``Referral.status`` and of the history's
    ``ReferralEvent.to_status``)."""

    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    REVOKED = "revoked"


class Urgency(StrEnum):
    """How soon the service must answer (``service.RESPONSE_HOURS``)."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class RevokeReason(StrEnum):
    """Why a referral was revoked (stored on its "revoked" history step and in the trail): the
    sender's choices, then the automatic ones."""

    NO_LONGER_NEEDED = "no_longer_needed"
    SENT_IN_ERROR = "sent_in_error"
    SURVIVOR_REQUEST = "survivor_request"
    SAFETY = "safety"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CASE_ERASED = "case_erased"
    PARENT_REVOKED = "parent_revoked"  # an onward referral, when the one it came from is


class ServiceOutcome(StrEnum):
    """What came of a completed referral (GBVIMS: was the service provided?), stored on
    ``Referral.outcome`` so statistics can count it."""

    PROVIDED = "provided"
    PARTIALLY_PROVIDED = "partially_provided"
    NOT_PROVIDED = "not_provided"


class NotProvidedReason(StrEnum):
    """Why a service was not (fully) provided (``Referral.outcome_reason``)."""

    SURVIVOR_DECLINED = "survivor_declined"
    DID_NOT_ATTEND = "did_not_attend"
    NOT_AVAILABLE = "not_available"
    NOT_ELIGIBLE = "not_eligible"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    OTHER = "other"


#: The reasons a sender may choose (the others are the system's own).
SENDER_REVOKE_REASONS = (RevokeReason.NO_LONGER_NEEDED, RevokeReason.SENT_IN_ERROR,
                         RevokeReason.SURVIVOR_REQUEST, RevokeReason.SAFETY)


class Referral(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """A referral of one case to one service."""

    __tablename__ = "referrals"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    # An onward referral: the referral whose service referred the survivor on (None for a
    # referral sent from the case). Its share is cut from the parent's (``app.referrals.onward``).
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    service_type: Mapped[str] = mapped_column(String(40), nullable=False)
    urgency: Mapped[str] = mapped_column(String(12), nullable=False, default="normal")
    urgent_clinical: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    clinical_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="sent", index=True)
    shared_fields: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    consent_override: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Why consent was overridden: a code (app.cases.justifications.OVERRIDE_REASONS); the
    # supervisor's explanation is sealed under the case's key on the "sent" history step.
    override_code: Mapped[str | None] = mapped_column(String(32))
    sent_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when completed: a ``ServiceOutcome`` code and, unless provided, a
    # ``NotProvidedReason`` code (clear codes for statistics; the note stays sealed).
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_reason: Mapped[str | None] = mapped_column(String(32))
    # The share: a sealed JSON object of the chosen fields, and the sender's message.
    share = SealedLongText(max_length=40_000)
    message = SealedLongText(max_length=TEXT_MAX)

    service: Mapped[Service] = relationship()
    sent_by: Mapped[User] = relationship()


class ReferralEvent(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """One step of a referral's history; its note is sealed under the case's data key."""

    __tablename__ = "referral_events"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"),
                                                   index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    to_status: Mapped[str] = mapped_column(String(12), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(40))
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    note = SealedLongText(max_length=TEXT_MAX)
    # On the "sent" step of a referral made under a consent override: the supervisor's
    # explanation (never shown to the recipient or to auditors).
    justification = SealedText(max_length=500)

    by: Mapped[User | None] = relationship()


class ReferralTrail(UUIDPrimaryKey, Model):
    """What the sending organisation keeps of a referral of a case it transferred to another
    organisation (``app.cases.transfer``): the service, the codes and the dates, linked to the
    case's tombstone. Nothing sealed survives (the share, the message and the notes died with
    the case's and the referral's keys); ``referral_id`` is the referral's old id, so the audit
    trail's events about it can still be found."""

    __tablename__ = "referral_trails"

    tombstone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_tombstones.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    service_type: Mapped[str] = mapped_column(String(40), nullable=False)
    urgency: Mapped[str] = mapped_column(String(12), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_reason: Mapped[str | None] = mapped_column(String(32))


class ServiceGiven(StrEnum):
    """What a service records it gave on a referral (``ReferralServiceRecord.service_code``):
    a closed list, so the caseworker and statistics read codes, never free text."""

    ASSESSMENT = "assessment"
    MEDICAL_EXAMINATION = "medical_examination"
    CLINICAL_MANAGEMENT_OF_RAPE = "clinical_management_of_rape"
    MEDICATION = "medication"
    PSYCHOLOGICAL_FIRST_AID = "psychological_first_aid"
    COUNSELLING_SESSION = "counselling_session"
    PSYCHIATRIC_CONSULTATION = "psychiatric_consultation"
    INPATIENT_ADMISSION = "inpatient_admission"
    LEGAL_COUNSELLING = "legal_counselling"
    ACCOMPANIMENT = "accompaniment"
    SAFE_SHELTER = "safe_shelter"
    MATERIAL_ASSISTANCE = "material_assistance"
    FOLLOW_UP = "follow_up"
    OTHER = "other"


class ReferralServiceRecord(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """One service given on a referral, recorded by the service that received it. Its notes are
    sealed under the REFERRAL's data key: revoking the referral (or the case's erasure, or a
    withdrawn consent) destroys them with the share; the date and the service code stay, so the
    caseworker still sees what was given."""

    __tablename__ = "referral_service_records"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"),
                                                   index=True)
    # The service that recorded it (a provider sees only its own service's entries).
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    given_on: Mapped[date] = mapped_column(Date, nullable=False)
    service_code: Mapped[str] = mapped_column(String(40), nullable=False)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    notes = SealedLongText(max_length=TEXT_MAX)

    recorded_by: Mapped[User] = relationship()
