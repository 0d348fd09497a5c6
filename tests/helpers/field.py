"""Pending field intakes made directly in the database (as a sync would leave them), for the
review tests, the authorization matrix and the journey: ``intake_fields`` is a whole valid
submission (a woman of 29, consent given, an incident answered), ``make_intake`` stores one."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from app.clock import utcnow
from app.db import db
from tests.helpers.field_envelopes import overridden
from tests.helpers.incidents import incident_form


def intake_fields(*yes: str, **over: Any) -> dict[str, Any]:
    """A submission's fields by full name; the classification questions in ``yes`` answered
    yes (default: physical assault); ``over`` replaces any (``None`` removes it)."""
    incident = incident_form(*(yes or ("physical",)), incident_date="2026-11-20",
                             survivor_age_at_incident="29")
    incident.pop("reported_date")
    fields: dict[str, Any] = {
        "person-full_name": "Salma Fieldintake", "person-alias": "", "person-date_of_birth": "",
        "person-estimated_age": "29", "person-phone": "0912345678", "person-location": "",
        "person-safe_contact": "", "person-sex": "female", "person-nationality_group": "national",
        "person-displacement_status": "idp", "person-disability": "no",
        "consent-services": "yes", "consent-reporting": "yes", "consent-given_by": "survivor",
        "consent-method": "verbal", "consent-child_assent": "",
        "consent-caregiver_not_asked_reason": "", "consent-share_mhpss": "yes",
        "consent-share_legal": "no",
        **{f"incident-{k}": v for k, v in incident.items()}}
    return overridden(fields, over)


def intake_key(organisation_id: uuid.UUID) -> uuid.UUID:
    """The organisation's intake key (made on first use, as a device's preparation makes it)."""
    from app.field import keys

    return keys.active_key(organisation_id).id


def make_intake(app: Flask, user_id: str, fields: dict[str, Any] | None = None, *,
                captured_at: datetime | None = None, urgent: bool = False,
                window_ends_at: datetime | None = None,
                organisation_id: str | None = None) -> str:
    """Store a pending intake of ``user_id`` (in their organisation unless told) and return
    its id."""
    from app.auth.models import User
    from app.crypto.envelope import new_data_key
    from app.field.models import FieldIntake

    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        org = uuid.UUID(organisation_id) if organisation_id else user.organisation_id
        now = utcnow()
        intake = FieldIntake(data_key=new_data_key("field_intake"), organisation_id=org,
                             user_id=user.id, submission_id=uuid.uuid4(),
                             device_id="test-device-0001", intake_key_id=intake_key(org),
                             captured_at=captured_at or now - timedelta(hours=2),
                             received_at=now, urgent=urgent, window_ends_at=window_ends_at)
        db.session.add(intake)
        db.session.flush()
        intake.payload = json.dumps({"fields": fields if fields is not None
                                     else intake_fields()})
        db.session.commit()
        return str(intake.id)
