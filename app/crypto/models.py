"""Tables of the encryption layer: KEK versions, key checks, wrapped data keys, blind indexes.

None of them holds a secret in the clear. ``kek_versions`` keeps, per key-encryption key, a
check value (a known constant wrapped under that key) so a wrong or swapped key is caught at
start-up; ``key_checks`` does the same for the other keys (secret, audit and index keys).
``data_keys`` keeps each record's data key wrapped under one KEK version; shredding sets
``wrapped`` to NULL for good. ``blind_index_entries`` maps truncated keyed digests of
normalised values to the records that hold them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Model, UTCDateTime, UUIDPrimaryKey


class KekVersion(Model):
    """One key-encryption key version known to this database (the key itself lives elsewhere)."""

    __tablename__ = "kek_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[bytes] = mapped_column(LargeBinary(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataKey(UUIDPrimaryKey, Model):
    """A random 256-bit data key, stored only wrapped under the KEK version beside it.

    ``purpose`` says what owns it ("cases", "referral_shares", "system"); ``label`` names the few
    system keys (unique); ``wrapped`` is NULL once the key has been shredded.
    """

    __tablename__ = "data_keys"

    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    label: Mapped[str | None] = mapped_column(String(40), unique=True)
    kek_version: Mapped[int] = mapped_column(ForeignKey("kek_versions.version"), nullable=False,
                                             index=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BlindIndexEntry(Model):
    """A truncated HMAC of one normalised value of ``owner_table.field`` for record ``owner_id``."""

    __tablename__ = "blind_index_entries"
    __table_args__ = (
        Index("ix_blind_index_entries_owner", "owner_table", "owner_id"),
    )

    index_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    owner_table: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    data_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_keys.id"), nullable=False,
                                                   index=True)


class KeyCheck(Model):
    """The check value of one key other than the KEKs (``app.crypto.keychecks``): a keyed digest
    of a constant naming the key, or the Ed25519 public key's fingerprint. Never the key."""

    __tablename__ = "key_checks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    check_value: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
