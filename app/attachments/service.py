"""Writes and reads of attachments: attach a file to a case, read its bytes, share copies with a
referral. Every rule is here; the views only load, call and show.

- Attaching: the case must take changes (``app.cases.rules.ensure_writable``); the kind is one
  of ``AttachmentKind``; the file passes ``files.check`` (type by content, size, a real decode,
  images drawn again without metadata). A refusal is audited with its code and saves nothing.
  The file, its original name and the description are sealed under the case's data key, each
  with its own associated data (table, field, record id, version).
- Sharing: when a referral is sent (``hooks.referral_sent``), each chosen file of the case is
  copied, sealed under the referral's own key; the referral refuses the choice when the
  survivor's consent does not cover attachments (``app.referrals.service.create``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.attachments import files
from app.attachments.labels import kind_label, size_label, type_label
from app.attachments.models import (
    EXTENSIONS,
    HARD_MAX_BYTES,
    Attachment,
    AttachmentContent,
    AttachmentKind,
    FileType,
    ReferralAttachment,
)
from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases.models import Case
from app.cases.records import touch
from app.cases.rules import ensure_writable
from app.clock import utcnow
from app.core import hooks
from app.core.errors import CaseError, StaleError
from app.core.text import blank_to_none
from app.core.versioning import saving
from app.crypto.readable import readable
from app.db import db, transaction
from app.referrals.models import Referral
from app.submissions.service import Submission, claim

DESCRIPTION_MAX = 500
DEFAULT_MAX_PIXELS = 40_000_000


class AttachmentError(CaseError):
    """A refused attachment (message safe to show); ``field`` names the form field it belongs
    beside."""

    def __init__(self, message: object, field: str = "file") -> None:
        super().__init__(str(message))
        self.field = field


@dataclass(frozen=True)
class NewAttachment:
    """A file to attach: its kind (an ``AttachmentKind`` code), its bytes as sent, the name the
    browser gave it (sealed, never used to decide anything) and an optional description."""

    kind: str
    data: bytes
    original_name: str = ""
    description: str | None = None


def max_bytes() -> int:
    """The largest file accepted (``AMANA_ATTACHMENT_MAX_MB``), never above the field's own."""
    return min(int(current_app.config["ATTACHMENT_MAX_BYTES"]), HARD_MAX_BYTES)


def max_pixels() -> int:
    """The most pixels an image may have (a decompression bomb is refused before decoding)."""
    return int(current_app.config.get("ATTACHMENT_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _denied(case: Case, *, reason: str, error: AttachmentError) -> AttachmentError:
    """Record the refused upload on the trail (its code only) and give back ``error``."""
    with transaction():
        record(Action.ATTACHMENT_UPLOAD, object_type=ObjectType.CASE, object_id=case.id,
               outcome=Outcome.DENIED, reason=reason)
    return error


def add(user: User, case: Case, new: NewAttachment, once: Submission | None = None) -> Attachment:
    """Attach a file to ``case`` (see the module's docstring); ``once``: the form's token,
    claimed with the attachment. ``AttachmentError`` (audited) for a refused file or kind."""
    ensure_writable(case)
    if new.kind not in {k.value for k in AttachmentKind}:
        wrong_kind = AttachmentError(_l("Choose what this file is."), field="kind")
        raise _denied(case, reason="bad_kind", error=wrong_kind)
    description = blank_to_none(new.description)
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise AttachmentError(_l("The description is too long: at most %(n)d characters.",
                                 n=DESCRIPTION_MAX), field="description")
    try:
        checked = files.check(new.data, max_bytes=max_bytes(), max_pixels=max_pixels())
    except files.FileRefused as exc:
        raise _denied(case, reason=exc.code, error=AttachmentError(str(exc))) from None
    with saving(case, StaleError):
        attachment = Attachment(data_key=case.data_key, case_id=case.id, kind=new.kind,
                                file_type=checked.file_type.value,
                                size_bytes=len(checked.data), uploaded_by_id=user.id,
                                uploaded_at=utcnow())
        attachment.original_name = blank_to_none(new.original_name.strip()[:255])
        attachment.description = description
        content = AttachmentContent(data_key=case.data_key, attachment_id=attachment.id)
        content.content = checked.data
        db.session.add_all([attachment, content])
        db.session.flush()
        touch(case)
        record(Action.ATTACHMENT_UPLOAD, object_type=ObjectType.ATTACHMENT,
               object_id=attachment.id, reason=f"{new.kind}:{checked.file_type.value}")
        claim(once, ObjectType.ATTACHMENT, attachment.id)
    return attachment


def for_case(case: Case) -> list[Attachment]:
    """A case's attachments, newest first (their bytes are not read)."""
    return list(db.session.execute(
        select(Attachment).where(Attachment.case_id == case.id)
        .options(selectinload(Attachment.uploaded_by))
        .order_by(Attachment.uploaded_at.desc(), Attachment.id)).scalars())


def content_of(attachment: Attachment) -> bytes:
    """The bytes of a case's attachment (opened under the case's key)."""
    row = db.session.execute(select(AttachmentContent).where(
        AttachmentContent.attachment_id == attachment.id)).scalar_one()
    data = row.content
    if data is None:
        raise CaseError(str(_l("This file cannot be read.")))
    return data


def download_name(record_id: uuid.UUID, file_type: str) -> str:
    """The name a file is downloaded under: neutral (never the original name, which may name
    the survivor), e.g. ``attachment-1a2b3c4d.pdf``."""
    return f"attachment-{record_id.hex[:8]}.{EXTENSIONS[FileType(file_type)]}"


def describe(attachment: Attachment | ReferralAttachment) -> str:
    """What a file is, in the reader's language (kind and type, never its name)."""
    return f"{kind_label(attachment.kind)} ({type_label(attachment.file_type)})"


# --- Sharing with referrals (``app.core.hooks``: referrals never import attachments) ---------

@hooks.referral_shareables.subscribe
def shareable(case: Case) -> list[tuple[str, str]]:
    """The case's files a referral may share, as (id, what it is and when) choices."""
    from flask_babel import format_date

    return [(str(a.id), f"{describe(a)} — {format_date(a.uploaded_at)}") for a in for_case(case)]


@hooks.referral_sent.subscribe
def copy_to_referral(referral: Referral, case: Case, user: User,
                     attachments: tuple[uuid.UUID, ...]) -> int:
    """Copy each chosen file of ``case`` into ``referral``, sealed under the referral's key (in
    the sending transaction). A file that is not the case's refuses the whole referral."""
    if not attachments:
        return 0
    wanted = list(dict.fromkeys(attachments))
    found = {a.id: a for a in db.session.execute(
        select(Attachment).where(Attachment.id.in_(wanted), Attachment.case_id == case.id))
        .scalars()}
    if len(found) != len(wanted):
        raise AttachmentError(_l("One of the chosen files is not attached to this case."),
                              field="attachments")
    now = utcnow()
    for attachment_id in wanted:
        source = found[attachment_id]
        copy = ReferralAttachment(data_key=referral.data_key, referral_id=referral.id,
                                  attachment_id=source.id, kind=source.kind,
                                  file_type=source.file_type, size_bytes=source.size_bytes,
                                  shared_by_id=user.id, shared_at=now)
        copy.content = content_of(source)
        db.session.add(copy)
        db.session.flush()
        record(Action.ATTACHMENT_SHARE, object_type=ObjectType.REFERRAL_ATTACHMENT,
               object_id=copy.id, reason=source.kind)
    return len(wanted)


def for_referral(referral: Referral) -> list[ReferralAttachment]:
    """The files shared with a referral (their bytes are not read)."""
    return list(db.session.execute(
        select(ReferralAttachment).where(ReferralAttachment.referral_id == referral.id)
        .order_by(ReferralAttachment.shared_at, ReferralAttachment.id)).scalars())


@hooks.referral_page.subscribe
def referral_section(referral: Referral, user: User) -> dict[str, Any]:
    """What a referral's pages show of its files: kind, type, size (never their names)."""
    return {"referral_attachments": for_referral(referral), "describe_attachment": describe,
            "attachment_size": size_label}


@hooks.case_page.subscribe
def case_section(case: Case, user: User) -> dict[str, Any]:
    """The case page's attachments: the list (kind, date, who, size, the description opened;
    one that does not open is left out with the page's notice) and how to describe them."""
    return {"attachments": readable(for_case(case), ("description",)),
            "describe_attachment": describe,
            "attachment_size": size_label, "attachment_max_mb": max_bytes() // (1024 * 1024)}


def count_for_case(case_id: uuid.UUID) -> int:
    """How many files a case has."""
    return int(db.session.execute(select(func.count()).select_from(Attachment)
                                  .where(Attachment.case_id == case_id)).scalar_one())
