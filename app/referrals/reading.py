"""What a referral's page reads of its sealed parts: the shared fields, the message, the
recipient's answers and (for those who may read it) the consent-override justification. Each
respects revocation: once revoked, the share and the message are gone."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.auth.models import User
from app.cases.justifications import may_read_text
from app.db import db
from app.referrals import queries
from app.referrals.models import Referral, ReferralEvent, ReferralStatus


def override_justification(user: User, referral: Referral) -> str | None:
    """The supervisor's explanation for a referral sent without consent, for ``user``: only
    those who may read justification texts (``justifications.may_read_text``) get it; it is
    sealed under the case's key and never shown to the recipient or to auditors."""
    if not referral.consent_override or not may_read_text(user):
        return None
    sent: ReferralEvent | None = db.session.execute(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral.id,
                                    ReferralEvent.to_status == ReferralStatus.SENT)
    ).scalars().first()
    return sent.justification if sent is not None else None


def shared_values(referral: Referral) -> dict[str, str]:
    """The shared fields (decrypted from the referral's own key); nothing once it is revoked
    (the share was destroyed)."""
    if referral.status == ReferralStatus.REVOKED:
        return {}
    raw = referral.share
    return dict(json.loads(raw)) if raw else {}


def sent_message(referral: Referral) -> str | None:
    """The sender's message (sealed under the referral's own key): None once revoked, when it
    was destroyed with the share."""
    if referral.status == ReferralStatus.REVOKED:
        return None
    return referral.message


#: The history steps the recipient's service wrote (its answers and their notes).
ANSWER_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED, ReferralStatus.COMPLETED)


def answers(referral: Referral) -> list[ReferralEvent]:
    """The answers the recipient's service gave on this referral, oldest first: what a provider
    sees of the history (never the "sent" step, whose justification is the case's)."""
    return [e for e in queries.history(referral) if e.to_status in ANSWER_STATUSES]
