"""Accounts and their server-side sessions, recovery codes and reset tokens.

Secrets are never stored as given: passwords as Argon2id hashes, session and reset tokens and
recovery codes as SHA-256 digests (they are high-entropy random values), TOTP secrets sealed.
Passkeys keep only public values (the credential's id and public key).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Model, Timestamps, UTCDateTime, UUIDPrimaryKey, Versioned
from app.directory.models import Organisation, SafeSpace, Service, Site

user_sites = Table(
    "user_sites",
    Base.metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Uuid, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)
user_safe_spaces = Table(
    "user_safe_spaces",
    Base.metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("safe_space_id", Uuid, ForeignKey("safe_spaces.id", ondelete="CASCADE"),
           primary_key=True),
)


class User(UUIDPrimaryKey, Timestamps, Versioned, UserMixin, Model):
    """A staff account with exactly one role."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id"))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Demo accounts are refused by a production start.
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # A new account given a role that needs a second admin's approval: it cannot sign in, and
    # no reset code is issued for it, until that approval (app/admin/grants.py).
    approval_pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Optional email (app/notifications/email.py): the user asked to be told by email that there
    # are new items, at this address, sealed like the TOTP secret (staff addresses identify).
    email_notify: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                               server_default=false())
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The number of the organisation's pledge this account last accepted (its acceptances are
    # ``PledgeAcceptance`` rows); reset when the account moves to another organisation.
    pledge_accepted: Mapped[int | None] = mapped_column(Integer)

    organisation: Mapped[Organisation] = relationship()
    service: Mapped[Service | None] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary=user_sites, order_by="Site.name")
    safe_spaces: Mapped[list[SafeSpace]] = relationship(
        secondary=user_safe_spaces, order_by="SafeSpace.name"
    )

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def pledge_pending(self) -> bool:
        """Its organisation has published a pledge this account has not accepted yet."""
        current = self.organisation.pledge_number
        return current is not None and self.pledge_accepted != current

    @property
    def can_sign_in(self) -> bool:
        """Active, and not waiting for a second admin to approve its access."""
        return self.active and not self.approval_pending

    def get_id(self) -> str:
        return str(self.id)


class AuthSession(UUIDPrimaryKey, Model):
    """One login: created at login, checked on every request, revoked when it must end."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    mfa_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(120))
    # What proved the second factor last: "totp", "recovery" or "passkey" (app.auth.passkeys:
    # a role whose organisation requires passkeys reaches only the passkey pages until it is
    # "passkey"; read from this row, so the guard asks no query of its own).
    mfa_method: Mapped[str | None] = mapped_column(String(16))
    # The WebAuthn challenges this session may answer (app.auth.passkeys), one to sign with a
    # passkey and one to register a passkey, each single use (cleared by a conditional update
    # when answered) and good until its ``_until``.
    passkey_challenge: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    passkey_challenge_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    passkey_enrol_challenge: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    passkey_enrol_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Passkey(UUIDPrimaryKey, Model):
    """A WebAuthn credential an account registered as its second factor.

    ``credential_id`` and ``public_key`` are public by design (a stolen copy signs nothing);
    ``sign_count`` is the authenticator's counter, which must rise at every use unless it is
    always zero (a counter going backwards means a copied authenticator: ``disabled_at`` is set
    and the passkey is refused from then on). ``label`` is the holder's own name for the device
    ("work laptop"), at most 60 plain characters.
    """

    __tablename__ = "passkeys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True, nullable=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    transports: Mapped[str | None] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(60), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(UUIDPrimaryKey, Model):
    """A single-use MFA recovery code, stored as a digest."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordResetToken(UUIDPrimaryKey, Model):
    """A single-use, expiring password-reset token issued by an admin."""

    __tablename__ = "password_reset_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


GRANT_STATUSES = ("pending", "approved", "refused", "expired", "superseded")
GRANT_KINDS = ("access", "password_reset", "mfa_reset", "sso_link")


class RoleGrant(UUIDPrimaryKey, Versioned, Model):
    """Access asked for by one admin that takes effect only when a second admin approves it.

    It names the whole requested scope (role, organisation, sites, safe spaces, service), so
    approval applies exactly what was asked and seen, nothing added meanwhile.
    """

    __tablename__ = "role_grants"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    # "access" (a role or places), or a reset of the account's password or two-step
    # verification: whoever resets both can sign in as the person.
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="access")
    new_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    site_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    safe_space_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id"))
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    organisation: Mapped[Organisation] = relationship()
    service: Mapped[Service | None] = relationship()


class PledgeAcceptance(UUIDPrimaryKey, Model):
    """An account accepted one version of its organisation's pledge. Append-only: never
    changed or removed; a new version needs a new acceptance."""

    __tablename__ = "pledge_acceptances"
    __table_args__ = (UniqueConstraint("pledge_id", "user_id"),)

    pledge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation_pledges.id"),
                                                 index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
