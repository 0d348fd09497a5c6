"""Which attachments a user may open (no scope of their own: the cases' and the referrals'
loaders decide): those of the cases they may see (the cases' scope), and
the copies shared with a live referral to their own service. Anything else is answered like a
file that does not exist (404), and the attempt is audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.attachments.models import Attachment, ReferralAttachment
from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.cases.scopes import CaseAccess, load_case
from app.db import db
from app.referrals.models import Referral
from app.referrals.queries import load_received


def load_attachment(user: User, case_id: uuid.UUID,
                    attachment_id: uuid.UUID) -> tuple[CaseAccess, Attachment]:
    """A file of a case in the user's scope (break-glass access included: it reads), or 404
    (audited as a denied download); the download itself is recorded by the caller."""
    access = load_case(user, case_id, action=Action.ATTACHMENT_DOWNLOAD)
    found: Attachment | None = db.session.execute(
        select(Attachment).where(Attachment.id == attachment_id,
                                 Attachment.case_id == access.case.id)).scalar_one_or_none()
    if found is None:
        audit.deny_404(Action.ATTACHMENT_DOWNLOAD, ObjectType.ATTACHMENT, attachment_id)
    return access, found


def load_shared(user: User, referral_id: uuid.UUID,
                file_id: uuid.UUID) -> tuple[Referral, ReferralAttachment]:
    """A file shared with a live referral to the user's service, or 404 (audited)."""
    referral = load_received(user, referral_id, Action.ATTACHMENT_DOWNLOAD)
    found: ReferralAttachment | None = db.session.execute(
        select(ReferralAttachment).where(ReferralAttachment.id == file_id,
                                         ReferralAttachment.referral_id == referral.id)
    ).scalar_one_or_none()
    if found is None:
        audit.deny_404(Action.ATTACHMENT_DOWNLOAD, ObjectType.REFERRAL_ATTACHMENT, file_id)
    return referral, found
