"""The directory: organisations, their sites, safe spaces and services.

Nothing here is survivor data; these rows name the places and teams that cases, referrals and
safe-space logs point at.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Model, Timestamps, UTCDateTime, UUIDPrimaryKey, Versioned

# GBVIMS referral and consent service types (shared/GBVIMS.md); stored as these codes.
SERVICE_TYPES = (
    "health_medical", "mhpss", "psychiatry", "safety_security", "legal",
    "shelter_safe_house", "livelihoods", "protection_child_protection", "wgss", "other",
)
SAFE_SPACE_KINDS = ("static", "mobile")

service_sites = Table(
    "service_sites",
    Base.metadata,
    Column("service_id", Uuid, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Uuid, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """An organisation: the programme's own, or a partner that receives referrals."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # IANA name (Africa/Tripoli): where its days and deadlines are counted and times shown
    # (app/localtime.py); None: the instance's AMANA_DEFAULT_TIMEZONE.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The number of its current confidentiality pledge (``OrganisationPledge.number``), None
    # while it has published none. Kept here so the guard compares it with the user's
    # ``pledge_accepted`` on every request without a statement of its own (both are loaded with
    # the session row).
    pledge_number: Mapped[int | None] = mapped_column(Integer)
    # Role codes (space-separated) whose accounts must sign in with a passkey, not a code
    # (app.auth.passkeys.required). Empty: every account may use a code or a passkey.
    passkey_roles: Mapped[str] = mapped_column(String(200), nullable=False, default="",
                                               server_default="")

    sites: Mapped[list[Site]] = relationship(back_populates="organisation", order_by="Site.name")


class Site(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """A place where an organisation works; its code prefixes case numbers."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    code: Mapped[str] = mapped_column(String(8), unique=True, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    organisation: Mapped[Organisation] = relationship(back_populates="sites")


class SafeSpace(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """A Women and Girls Safe Space, static or mobile (mobile ones record an area, never an address)."""

    __tablename__ = "safe_spaces"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="static")
    opened_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    organisation: Mapped[Organisation] = relationship()
    site: Mapped[Site] = relationship()


class Service(UUIDPrimaryKey, Timestamps, Versioned, Model):
    """A service in the referral directory, of one GBVIMS service type, serving some sites."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    service_type: Mapped[str] = mapped_column(String(40), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    organisation: Mapped[Organisation] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary=service_sites, order_by="Site.name")


#: The longest pledge text, in each language (a code of conduct runs to a few pages).
PLEDGE_TEXT_MAX = 20000


class OrganisationPledge(UUIDPrimaryKey, Model):
    """One published version of an organisation's confidentiality pledge / code of conduct.

    Never edited once published: a correction is a new version (a higher ``number``), which
    every account of the organisation accepts again. Not survivor data: stored clear.
    """

    __tablename__ = "organisation_pledges"
    __table_args__ = (UniqueConstraint("organisation_id", "number"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    text_en: Mapped[str] = mapped_column(Text, nullable=False)
    text_ar: Mapped[str | None] = mapped_column(Text)   # None: the English text is shown
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    published_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))

    def text_in(self, language: str | None) -> str:
        """The text in ``language`` when there is one, else the English text."""
        return (self.text_ar if language == "ar" and self.text_ar else None) or self.text_en
