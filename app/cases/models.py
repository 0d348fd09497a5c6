"""Survivor cases and everything recorded in them.

Identifying data and free text live only in ``*_sealed`` columns, sealed under the case's own
data key (see ``app/crypto``); categories that statistics need stay clear (shared/GBVIMS.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.cases.workflow import CaseStatus
from app.core.text import LONG_TEXT_MAX, TEXT_MAX
from app.crypto.blind_index import BIRTH_DATE, NAME_PART, PERSON_NAME, PHONE
from app.crypto.fields import SealedDate, SealedInt, SealedLongText, SealedRecord, SealedText
from app.db import Model, Timestamps, UTCDateTime, UUIDPrimaryKey, Versioned
from app.directory.models import Site

STATUSES = tuple(CaseStatus)
RISK_LEVELS = ("unknown", "low", "medium", "high")
SEXES = ("female", "male", "other", "unknown")
NATIONALITY_GROUPS = ("national", "foreign", "stateless", "unknown")
YES_NO_UNKNOWN = ("yes", "no", "unknown")


class Case(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """A survivor's case. Lists and statistics read only the clear columns."""

    __tablename__ = "cases"
    # A supervisor's home page and lists read the cases of their sites that are still worked
    # (most of a site's cases are closed): by site and status together; then every column the
    # case list shows, counts and sorts by, so the list never reads the (wide, sealed) rows.
    __table_args__ = (Index("ix_cases_site_list", "site_id", "status", "opened_on",
                            "case_number", "id", "risk_level", "primary_worker_id",
                            "organisation_id", "updated_at"),)

    case_number: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default=CaseStatus.OPEN.value,
                                        index=True)
    risk_level: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")
    # None when the caseworker left the case's organisation or site: the supervisor reassigns.
    primary_worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"),
                                                                index=True)
    secondary_worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"),
                                                                  index=True)
    opened_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    # When the first contact was captured offline (a field intake, ``app.field``); None when the
    # case was opened at a desk.
    field_captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    plan_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Categories for statistics (clear).
    sex: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")
    age_group: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")
    nationality_group: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")
    displacement_status: Mapped[str] = mapped_column(String(20), nullable=False, default="unknown")
    disability: Mapped[str] = mapped_column(String(8), nullable=False, default="unknown")
    is_child: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Identity, sealed under the case's own data key (children share that key).
    # Whole name, and each name part as an Arabic/Latin name key (search before create).
    full_name = SealedText(max_length=200, index=(PERSON_NAME, NAME_PART))
    alias = SealedText(max_length=200, index=(PERSON_NAME, NAME_PART))
    date_of_birth = SealedDate(index=BIRTH_DATE)
    estimated_age = SealedInt()
    phone = SealedText(max_length=40, index=PHONE)
    location = SealedLongText(max_length=TEXT_MAX)
    safe_contact = SealedLongText(max_length=TEXT_MAX)

    site: Mapped[Site] = relationship()
    primary_worker: Mapped[User | None] = relationship(foreign_keys=[primary_worker_id])
    secondary_worker: Mapped[User | None] = relationship(foreign_keys=[secondary_worker_id])


class CaseSequence(Model):
    """The last case number issued per site and year (locked row, so numbers never repeat)."""

    __tablename__ = "case_sequences"

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ConsentRecord(UUIDPrimaryKey, Model):
    """One consent decision (given or withdrawn). The newest per kind is in force; history stays."""

    __tablename__ = "consent_records"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    # Order of decisions within the case (the newest per kind is in force); unique, so two
    # decisions recorded at the same moment still have a definite order.
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # services | reporting | share
    service_type: Mapped[str | None] = mapped_column(String(40))   # for kind == share
    # For kind == share: the fields the survivor agreed to share with that type of service
    # (codes from app.referrals.fields; the minimum set is always allowed).
    share_fields: Mapped[str] = mapped_column(String(300), nullable=False, default="",
                                              server_default="")
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    given_by: Mapped[str] = mapped_column(String(24), nullable=False)  # survivor | caregiver | both
    method: Mapped[str] = mapped_column(String(16), nullable=False)    # verbal | written | thumbprint
    child_assent: Mapped[bool | None] = mapped_column(Boolean)
    caregiver_not_asked_reason: Mapped[str | None] = mapped_column(String(32))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Incident(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """An incident, classified the GBVIMS way; narrative and perpetrator details sealed."""

    __tablename__ = "incidents"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    incident_date: Mapped[date] = mapped_column(Date, nullable=False)
    date_is_approximate: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reported_date: Mapped[date] = mapped_column(Date, nullable=False)
    location_type: Mapped[str] = mapped_column(String(24), nullable=False)
    answers: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    core_type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    contexts: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # The GBVIMS band; each recorded perpetrator (up to three) is an ``IncidentPerpetrator``.
    perpetrator_count: Mapped[str] = mapped_column(String(12), nullable=False)
    time_of_day: Mapped[str] = mapped_column(String(16), nullable=False, default="unknown")
    # Approximate local time of the incident (the organisation's zone), when known.
    incident_time: Mapped[time | None] = mapped_column(Time)
    displacement_stage: Mapped[str] = mapped_column(String(20), nullable=False,
                                                    default="not_displaced")
    report_band: Mapped[str] = mapped_column(String(20), nullable=False)
    # None: explicitly unknown (child contexts then cannot be ruled out).
    survivor_age_at_incident: Mapped[int | None] = mapped_column(Integer)
    # The facts behind the contexts (GBVIMS codes, not identifying): kept as recorded, so
    # the contexts are derived again from them on every save.
    exchange: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                           server_default=false())
    abducted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                           server_default=false())
    harmful_practice: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                   server_default=false())
    harmful_practice_type: Mapped[str | None] = mapped_column(String(32))
    urgent_clinical: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    narrative = SealedLongText(max_length=LONG_TEXT_MAX)
    perpetrator_details = SealedLongText(max_length=TEXT_MAX)
    location_detail = SealedLongText(max_length=TEXT_MAX)

    perpetrators: Mapped[list[IncidentPerpetrator]] = relationship(
        order_by="IncidentPerpetrator.position", cascade="all, delete-orphan",
        passive_deletes=True, lazy="selectin")


class IncidentPerpetrator(UUIDPrimaryKey, Model):
    """One of up to three perpetrators of an incident (GBVIMS codes, clear for statistics;
    names and descriptions go in the incident's sealed ``perpetrator_details``)."""

    __tablename__ = "incident_perpetrators"
    __table_args__ = (UniqueConstraint("incident_id", "position"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2 or 3
    sex: Mapped[str] = mapped_column(String(12), nullable=False)
    age_group: Mapped[str] = mapped_column(String(12), nullable=False)
    relationship: Mapped[str] = mapped_column(String(32), nullable=False)
    occupation: Mapped[str] = mapped_column(String(32), nullable=False)


class Assessment(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """The case's current assessment and safety plan (one row per case, versioned)."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("case_id"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    risk_level: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")
    needs: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    assessed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    notes = SealedLongText(max_length=LONG_TEXT_MAX)
    safety_plan = SealedLongText(max_length=LONG_TEXT_MAX)


class ActionItem(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """A goal of the action plan: a service with a due date and a status."""

    __tablename__ = "action_items"
    # Goals still to do by due date (a supervisor's overdue counts): few, however many are done.
    __table_args__ = (Index("ix_action_items_open_due", "due_on",
                            sqlite_where=text("status IN ('planned', 'in_progress')"),
                            postgresql_where=text("status IN ('planned', 'in_progress')")),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    service_type: Mapped[str] = mapped_column(String(40), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned")
    goal = SealedLongText(max_length=TEXT_MAX)


class FollowUp(UUIDPrimaryKey, SealedRecord, Timestamps, Versioned, Model):
    """A planned or completed follow-up visit."""

    __tablename__ = "follow_ups"
    # Follow-ups not yet done, by due date (overdue counts): few, however many are done.
    __table_args__ = (Index("ix_follow_ups_open_due", "due_on",
                            sqlite_where=text("done_on IS NULL"),
                            postgresql_where=text("done_on IS NULL")),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    due_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    done_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    notes = SealedLongText(max_length=TEXT_MAX)


class CaseNote(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """A case note (append-only in the UI)."""

    __tablename__ = "case_notes"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    body = SealedLongText(max_length=LONG_TEXT_MAX)

    author: Mapped[User] = relationship()


class StatusChange(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """Workflow history: every status move, who made it and the reason code."""

    __tablename__ = "case_status_changes"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    from_status: Mapped[str] = mapped_column(String(24), nullable=False)
    to_status: Mapped[str] = mapped_column(String(24), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(32))
    by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason_detail = SealedLongText(max_length=TEXT_MAX)

    by: Mapped[User] = relationship()


class BreakGlassGrant(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """Time-limited, read-only access of a supervisor to a case outside their sites.

    Why: a reason code (clear, ``app.cases.justifications``) and the supervisor's explanation,
    sealed under the case's data key (so it dies with the case) and shown only to supervisors.
    """

    __tablename__ = "break_glass_grants"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    supervisor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason_code: Mapped[str] = mapped_column(String(32), nullable=False)
    justification = SealedText(max_length=500)

    supervisor: Mapped[User] = relationship()


class CaseTombstone(UUIDPrimaryKey, Model):
    """What remains of an erased case: its number, who erased it, when and why (a code)."""

    __tablename__ = "case_tombstones"

    case_number: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    erased_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)


class CaseTransfer(UUIDPrimaryKey, Model):
    """A request to hand a case over to another organisation, and its answer
    (``app.cases.transfer``).

    While pending it names the case; once accepted the sender's case is erased and the row
    keeps the sender's side of the story: its case number (a code), the receiving organisation,
    who decided and when, and the tombstone. It holds nothing sealed and nothing identifying:
    the receiving supervisor decides from the case's clear categories, the urgency and the
    sending organisation. ``new_case_id`` is the receiving organisation's case, never shown to
    the sender.
    """

    __tablename__ = "case_transfers"
    # At most one pending request per case.
    __table_args__ = (Index("uq_case_transfers_pending", "case_id", unique=True,
                            sqlite_where=text("status = 'pending'"),
                            postgresql_where=text("status = 'pending'")),)

    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    case_number: Mapped[str] = mapped_column(String(24), nullable=False)
    from_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"),
                                                            index=True)
    to_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"),
                                                          index=True)
    to_site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))
    urgency: Mapped[str] = mapped_column(String(12), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it was declined or cancelled (a code, ``app.cases.transfer``).
    reason: Mapped[str | None] = mapped_column(String(32))
    new_case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"))
    tombstone_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_tombstones.id", ondelete="SET NULL"))
