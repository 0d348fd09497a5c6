"""Single sign-on (OpenID Connect): who an account is at the provider, each sign-in under way,
and each organisation's choice to use it.

``OidcIdentity``: an admin links an account to the provider's stable subject (``iss`` and
``sub`` together; never created or linked automatically, never matched by email). The pair is
stored in clear and unique: it is an account identifier chosen by the provider (usually an
opaque id), not survivor data, and sign-in must find the account by it in one indexed lookup;
a keyed digest would only hide it from the admins who typed it. ``OidcRequest``: one sign-in
from the redirect to the provider to its return, found by the digest of its ``state``, bound
to the browser by the digest of a cookie, its nonce kept as a digest, used once (a conditional
update), forgotten after ``REQUEST_MINUTES``. ``OrganisationSso``: whether the organisation's
accounts may sign in through the provider, and whether the provider's own second factor
(``amr``/``acr`` in the ID token) replaces Amana's (off unless an admin turns it on).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model, UTCDateTime, UUIDPrimaryKey, Versioned

#: ``amr`` values that mean the provider checked a second factor (RFC 8176), by default.
DEFAULT_AMR = "mfa otp hwk swk sms"


class OidcIdentity(UUIDPrimaryKey, Model):
    """An account's subject at the OpenID provider (at most one per account)."""

    __tablename__ = "oidc_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(255), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    linked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # A link to an account that reads case data or approves access is a credential, like a
    # password reset: it waits for a second admin (app/admin/grants.py, kind ``sso_link``) and
    # signs nothing in until approved (None: waiting).
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class OidcRequest(UUIDPrimaryKey, Model):
    """One sign-in sent to the provider and not yet back (digests only)."""

    __tablename__ = "oidc_requests"

    state_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    binding_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    nonce_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrganisationSso(Versioned, Model):
    """An organisation's single sign-on settings (no row: off)."""

    __tablename__ = "organisation_sso"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"),
                                                       primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    trust_mfa: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # ``amr`` values (space-separated) any one of which counts as the provider's second factor;
    # and/or an ``acr`` value that does (empty: acr is not read).
    mfa_amr: Mapped[str] = mapped_column(String(200), nullable=False, default=DEFAULT_AMR)
    mfa_acr: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
