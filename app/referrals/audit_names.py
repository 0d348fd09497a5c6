"""What the audit workspace may ask the referrals feature (``app.audit.resolvers``): the
number of the case a referral belongs to."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import resolvers
from app.audit.actions import ObjectType
from app.audit.resolvers import CaseNumber
from app.cases.models import Case
from app.core.ids import parse_uuid
from app.db import db
from app.referrals.models import Referral, ReferralServiceRecord


@resolvers.case_number.register
def case_number_of(object_type: str, object_id: str) -> CaseNumber | None:
    """The number of the case the referral ``object_id`` was sent from (or the referral a
    service given ``object_id`` was recorded on)."""
    record_id = parse_uuid(object_id)
    if record_id is None:
        return None
    stmt = select(Case.case_number, Case.id).join(Referral, Referral.case_id == Case.id)
    if object_type == ObjectType.REFERRAL.value:
        stmt = stmt.where(Referral.id == record_id)
    elif object_type == ObjectType.REFERRAL_SERVICE_RECORD.value:  # a service given on one
        stmt = stmt.join(ReferralServiceRecord, ReferralServiceRecord.referral_id == Referral.id
                         ).where(ReferralServiceRecord.id == record_id)
    else:
        return None
    found = db.session.execute(stmt).first()
    return CaseNumber(found.case_number, str(found.id)) if found else None
