"""Attachments: a case's files and the copies referrals share.

An ``Attachment`` row says what the file is (a kind code, its checked type, its size, who added
it and when) and holds its original name and an optional description, sealed under the case's
data key. The bytes are on a row of their own (``AttachmentContent``, same key), so listing a
case's files never reads them. A ``ReferralAttachment`` is a copy of one file sealed under the
referral's data key: the service reads it without the case's key, and revoking the referral
(which destroys that key) makes it unreadable. All rows go with their case or referral
(``ON DELETE CASCADE``), and erasing the case destroys the key they are sealed under.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.crypto.fields import SealedBytes, SealedRecord, SealedText
from app.db import Model, UTCDateTime, UUIDPrimaryKey, Versioned

#: The largest file the field accepts, whatever the setting (``AMANA_ATTACHMENT_MAX_MB`` is
#: checked first and cannot exceed it).
HARD_MAX_BYTES = 64 * 1024 * 1024


class AttachmentKind(StrEnum):
    """What a file is (``Attachment.kind``; labels in ``app.attachments.labels``)."""

    CONSENT_FORM = "consent_form"
    THUMBPRINT = "thumbprint"
    MEDICAL_CERTIFICATE = "medical_certificate"
    POLICE_REPORT = "police_report"
    IDENTITY_DOCUMENT = "identity_document"
    OTHER = "other"


class FileType(StrEnum):
    """The types accepted, as found in the file's content (never its name)."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"


#: The content type and the file name's ending each type is served with.
MEDIA_TYPES = {FileType.PDF: "application/pdf", FileType.JPEG: "image/jpeg",
               FileType.PNG: "image/png"}
EXTENSIONS = {FileType.PDF: "pdf", FileType.JPEG: "jpg", FileType.PNG: "png"}


class Attachment(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """A file attached to a case (its bytes in ``AttachmentContent``)."""

    __tablename__ = "case_attachments"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    file_type: Mapped[str] = mapped_column(String(8), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    original_name = SealedText(max_length=255)
    description = SealedText(max_length=500)

    uploaded_by: Mapped[User] = relationship()


class AttachmentContent(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """The bytes of one attachment, sealed under the case's data key."""

    __tablename__ = "case_attachment_contents"
    __deep_batch__ = 4  # ``keys verify --deep`` reads up to 4 files at a time, not 500

    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_attachments.id", ondelete="CASCADE"), unique=True)
    content = SealedBytes(max_bytes=HARD_MAX_BYTES)


class ReferralAttachment(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """A copy of a case's attachment shared with a referral, sealed under the referral's key.

    Only codes and the size are in clear; the service downloads it under a neutral name."""

    __tablename__ = "referral_attachments"
    __deep_batch__ = 4

    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    # The case's file it was copied from (gone with it when the case is erased).
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_attachments.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    file_type: Mapped[str] = mapped_column(String(8), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    shared_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    content = SealedBytes(max_bytes=HARD_MAX_BYTES)
    # Deferred: the referral pages list the copies without reading their bytes.
    content_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
