"""What a referral can share. The minimum (case number, age group, sex, the service requested)
always goes; every other field only when the survivor's consent to share with that type of
service lists it. Values are copied at sending time into the referral's sealed share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.cases.labels import Domain, label
from app.cases.models import Case, ConsentRecord, Incident
from app.db import db
from app.referrals.labels import FIELDS

MINIMUM = ("case_number", "age_group", "sex", "service_requested")
OPTIONAL = ("full_name", "alias", "date_of_birth", "phone", "safe_contact", "location",
            "displacement_status", "disability", "risk_level", "incident_summary")
#: Not a value copied into the share: a consent naming it lets the sender tick the case's
#: attached files one by one (``NewReferral.attachments``), each copied under the referral's
#: key (app/attachments). A consent may name it besides the fields.
ATTACHMENTS = "attachments"
CONSENTABLE = (*OPTIONAL, ATTACHMENTS)


def optional_choices() -> list[tuple[str, Any]]:
    """(code, label) of what a consent may allow beyond the minimum (attached files too)."""
    return [(c, FIELDS[c]) for c in CONSENTABLE]


def parse(codes: str) -> list[str]:
    """Codes stored as a comma-separated list (unknown codes dropped)."""
    return [c for c in codes.split(",") if c in CONSENTABLE]


@dataclass(frozen=True)
class Offer:
    """What a referral to one type of service may carry, by the survivor's consent now.

    ``consented``: whether the survivor consented to share with that type of service (without
    it only a supervisor's override sends, and then the minimum only). ``fields``: the fields
    beyond the minimum that may go, in the order of ``OPTIONAL``.
    """

    consented: bool
    fields: tuple[str, ...] = ()
    attachments: bool = False  # whether chosen attached files may go too

    def choices(self) -> list[tuple[str, Any]]:
        """(code, label) of the fields to offer on the referral form."""
        return [(c, FIELDS[c]) for c in self.fields]


def offer(consent: ConsentRecord | None) -> Offer:
    """The one rule for what may be shared: the fields the newest consent decision for the
    service type lists, if it is a consent (``None``: no decision recorded). The form offers
    exactly these; ``service.create`` refuses anything else."""
    if consent is None or not consent.granted:
        return Offer(consented=False)
    allowed = set(parse(consent.share_fields))
    return Offer(consented=True, fields=tuple(c for c in OPTIONAL if c in allowed),
                 attachments=ATTACHMENTS in allowed)


CODED = {"age_group": Domain.AGE_GROUP, "sex": Domain.SEX,
         "service_requested": Domain.SERVICE_TYPE, "displacement_status": Domain.DISPLACEMENT,
         "disability": Domain.YES_NO_UNKNOWN, "risk_level": Domain.RISK}  # key -> label domain


def _incident_summary(case: Case) -> str | None:
    latest = db.session.execute(
        select(Incident).where(Incident.case_id == case.id)
        .order_by(Incident.incident_date.desc())).scalars().first()
    if latest is None:
        return None
    return f"{latest.core_type}|{latest.incident_date.isoformat()}"


def extract(case: Case, codes: list[str], service_type: str) -> dict[str, str]:
    """The values to share: the minimum plus ``codes``. Categories are kept as codes so that
    each reader sees them in their own language (see ``display``)."""
    values: dict[str, str | None] = {
        "case_number": case.case_number, "age_group": case.age_group, "sex": case.sex,
        "service_requested": service_type,
    }
    for code in codes:
        if code in ("full_name", "alias", "phone", "safe_contact", "location"):
            values[code] = getattr(case, code)
        elif code == "date_of_birth":
            dob = case.date_of_birth
            values[code] = dob.isoformat() if dob else None
        elif code in ("displacement_status", "disability", "risk_level"):
            values[code] = getattr(case, code)
        elif code == "incident_summary":
            values[code] = _incident_summary(case)
    return {k: v for k, v in values.items() if v}


def display(shared: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) pairs of a share in the reader's language."""
    rows = []
    for key, value in shared.items():
        if key in CODED:
            value = label(value, CODED[key])
        elif key == "incident_summary" and "|" in value:
            core, day = value.split("|", 1)
            value = f"{label(core, Domain.CORE_TYPE)}, {day}"
        rows.append((str(FIELDS.get(key, key)), value))
    return rows
