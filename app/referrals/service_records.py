"""The services a provider records on a referral its service accepted: the date, what was given
(a code of ``ServiceGiven``) and notes sealed under the REFERRAL's data key.

Who sees what:

- the provider's service sees only the entries its own service recorded on that referral;
- the caseworker (anyone who may open the referral through the case scope) sees the date and the
  service given of every entry, and the notes only when the survivor consented to notes coming
  back: the consent to share with the referral's service type, in force now, lists
  ``service_notes`` ("Notes of the services given come back to the caseworker", offered on the
  consent form through ``hooks.share_fields``). A withdrawn consent revokes the referral, which
  destroys its key and so the notes.

The notes live and die with the referral's key on purpose: a revoked referral, a withdrawn
consent or an erased case shreds them with the share. The date and service code are codes, not
survivor text, and stay, so the caseworker still sees what was given after a revocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases.consent import consent_state
from app.cases.models import Case
from app.clock import utcnow
from app.core import hooks
from app.db import db, transaction
from app.localtime import organisation_zone, today
from app.referrals import service
from app.referrals.models import ReferralServiceRecord, ReferralStatus, ServiceGiven
from app.referrals.onward import still
from app.submissions.service import Submission, claim

NOTES_BACK = "service_notes"  # the share-consent code that lets notes come back
NOTES_MAX = service.MESSAGE_MAX
#: The statuses of a referral its service may record services on.
RECORDS_ON = (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)

SERVICE_GIVEN: dict[str, Any] = {  # by ServiceGiven code (a StrEnum member is its code)
    ServiceGiven.ASSESSMENT: _l("Assessment"),
    ServiceGiven.MEDICAL_EXAMINATION: _l("Medical examination"),
    ServiceGiven.CLINICAL_MANAGEMENT_OF_RAPE: _l("Clinical management of rape"),
    ServiceGiven.MEDICATION: _l("Medication given or prescribed"),
    ServiceGiven.PSYCHOLOGICAL_FIRST_AID: _l("Psychological first aid"),
    ServiceGiven.COUNSELLING_SESSION: _l("Counselling session"),
    ServiceGiven.PSYCHIATRIC_CONSULTATION: _l("Psychiatric consultation"),
    ServiceGiven.INPATIENT_ADMISSION: _l("Inpatient admission"),
    ServiceGiven.LEGAL_COUNSELLING: _l("Legal counselling"),
    ServiceGiven.ACCOMPANIMENT: _l("Accompaniment"),
    ServiceGiven.SAFE_SHELTER: _l("Safe shelter"),
    ServiceGiven.MATERIAL_ASSISTANCE: _l("Material assistance"),
    ServiceGiven.FOLLOW_UP: _l("Follow-up"),
    ServiceGiven.OTHER: _l("Other service"),
}
SERVICE_GIVEN_CHOICES = [(s.value, SERVICE_GIVEN[s]) for s in ServiceGiven]


def service_given_label(code: str | None) -> str:
    """A service given, translated (the code itself when unknown)."""
    return str(SERVICE_GIVEN.get(code, code)) if code else ""


@dataclass(frozen=True)
class NewServiceRecord:
    """A service given: when, what (a ``ServiceGiven`` code), notes (sealed)."""

    given_on: date | None
    service_code: str | None
    notes: str | None = None


def may_record(referral: Any) -> bool:
    """Whether the receiving service may record services on the referral now."""
    return referral.status in RECORDS_ON


def _refused(referral: Any, reason: str, error: service.ReferralError) -> NoReturn:
    with transaction():
        record(Action.REFERRAL_SERVICE_RECORD, object_type=ObjectType.REFERRAL,
               object_id=referral.id, outcome=Outcome.DENIED, reason=reason)
    raise error


def _checked(user: User, referral: Any, entry: NewServiceRecord) -> tuple[date, ServiceGiven,
                                                                            str | None]:
    if not may_record(referral):
        _refused(referral, f"not_accepted:{referral.status}", error=service.ReferralError(str(_l(
            "Services can be recorded only on a referral your service accepted."))))
    if entry.service_code not in {s.value for s in ServiceGiven}:
        _refused(referral, "bad_service_code", error=service.beside("service_code", _l(
            "Choose the service given from the list.")))
    if entry.given_on is None:
        raise service.beside("given_on", _l("Give the date the service was given."))
    zone = organisation_zone(user.organisation_id)
    if entry.given_on > today(zone):
        _refused(referral, "date_in_future", error=service.beside("given_on", _l(
            "This date is in the future.")))
    sent_on = referral.sent_at.astimezone(zone).date()
    if entry.given_on < sent_on:
        _refused(referral, "date_before_sent", error=service.beside("given_on", _l(
            "This date is before the referral was sent (%(day)s).", day=sent_on.isoformat())))
    notes = (entry.notes or "").strip() or None
    if notes is not None and len(notes) > NOTES_MAX:
        raise service.beside("notes", _l("The notes are too long: at most %(n)d characters.",
                                         n=NOTES_MAX))
    return entry.given_on, ServiceGiven(str(entry.service_code)), notes


def add(user: User, referral: Any, entry: NewServiceRecord, *,
        once: Submission | None = None) -> ReferralServiceRecord:
    """Record a service given on ``referral`` (addressed to the user's service, loaded through
    ``queries.load_received``). Refused (audited, nothing stored) on a referral not accepted, an
    unknown service code, a date in the future or before the referral was sent."""
    given_on, code, notes = _checked(user, referral, entry)
    with transaction():
        still(referral, RECORDS_ON)  # a revocation committed meanwhile destroyed the key
        entry_row = ReferralServiceRecord(
            referral_id=referral.id, service_id=referral.service_id, given_on=given_on,
            service_code=code.value, recorded_by_id=user.id, recorded_at=utcnow(),
            data_key=referral.data_key)
        entry_row.notes = notes
        db.session.add(entry_row)
        db.session.flush()
        record(Action.REFERRAL_SERVICE_RECORD, object_type=ObjectType.REFERRAL_SERVICE_RECORD,
               object_id=entry_row.id, reason=code.value)
        claim(once, ObjectType.REFERRAL_SERVICE_RECORD, entry_row.id)
    return entry_row


def own_records(user: User, referral: Any) -> list[ReferralServiceRecord]:
    """The entries the user's own service recorded on the referral, oldest first."""
    if user.service_id is None:
        return []
    return list(db.session.execute(
        select(ReferralServiceRecord)
        .where(ReferralServiceRecord.referral_id == referral.id,
               ReferralServiceRecord.service_id == user.service_id)
        .order_by(ReferralServiceRecord.given_on, ReferralServiceRecord.recorded_at)).scalars())


def all_records(referral: Any) -> list[ReferralServiceRecord]:
    """Every entry on the referral, oldest first (the caseworker's view)."""
    return list(db.session.execute(
        select(ReferralServiceRecord).where(ReferralServiceRecord.referral_id == referral.id)
        .order_by(ReferralServiceRecord.given_on, ReferralServiceRecord.recorded_at)).scalars())


def notes_come_back(referral: Any) -> bool:
    """Whether the caseworker may read the notes of the services given on ``referral``: the
    referral is not revoked (its key is gone then) and the survivor's consent in force to share
    with its service type lists ``NOTES_BACK``."""
    if referral.status == ReferralStatus.REVOKED:
        return False
    case = db.session.get(Case, referral.case_id)
    consent = consent_state(case).share.get(referral.service_type) if case else None
    return bool(consent and consent.granted
                and NOTES_BACK in consent.share_fields.split(","))


@hooks.share_fields.subscribe
def notes_back_choice() -> list[tuple[str, Any]]:
    """The consent to share with a type of service may also let its notes come back."""
    return [(NOTES_BACK, _l("Notes of the services given come back to the caseworker"))]
