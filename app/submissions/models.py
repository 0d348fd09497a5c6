"""The claimed submission tokens: which form submission made which record.

Only the SHA-256 digest of a token is stored (a token is a 128-bit random value with a MAC, so
its digest cannot be turned back into it), with the account, the form's kind and the record made:
no personal data. Rows older than ``SUBMISSION_TOKEN_HOURS`` are deleted by the next claim.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model, UTCDateTime


class SubmissionToken(Model):
    """A claimed one-time submission token (its digest is the primary key: one claim each)."""

    __tablename__ = "submission_tokens"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
