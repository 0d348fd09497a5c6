"""Field envelopes in tests, made as a device makes them (the Python HPKE ``seal``, the agreed
associated data written out here again rather than taken from the server's code, so a change
to either side shows), and the fields of a complete field intake."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from flask import Flask

from app.crypto import hpke
from tests.helpers.factories import World
from tests.helpers.incidents import incident_form

INFO = b"amana/field-intake/v1"
DEVICE = "device-0123456789abcdef"


def b64url(raw: bytes) -> str:
    """base64url without padding (the envelope's ``enc`` and ``ct``)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of base64url text without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def at_ms(moment: datetime) -> int:
    """A moment as the envelope's ``at``: integer milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def aad(kid: str, uid: str, did: str, at: int, sid: str) -> bytes:
    """The associated data of the design: info, then the bound fields, one per line."""
    return f"amana/field-intake/v1\n{kid}\n{uid}\n{did}\n{at}\n{sid}".encode()


def make_envelope(public_key: bytes, kid: str, uid: str, did: str, at_ms: int, sid: str,
                  fields: dict[str, Any]) -> dict[str, Any]:
    """An envelope sealing ``{"fields": fields}`` to ``public_key``, bound to the others."""
    plaintext = json.dumps({"fields": fields}, ensure_ascii=False).encode()
    enc, ct = hpke.seal(public_key, info=INFO, aad=aad(kid, uid, did, at_ms, sid),
                        plaintext=plaintext)
    return {"v": 1, "kid": kid, "sid": sid, "uid": uid, "did": did, "at": at_ms,
            "enc": b64url(enc), "ct": b64url(ct)}


def intake_fields(*yes: str, **over: Any) -> dict[str, Any]:
    """Every field of a complete field intake (a 30-year-old woman, consent given, the
    classification questions in ``yes`` answered yes, urgent), by full name; ``over`` replaces
    any (``person-full_name``...), a value of ``None`` leaves the field out."""
    person = {"full_name": "Amira Field", "alias": "", "date_of_birth": "", "estimated_age": "30",
              "sex": "female", "nationality_group": "national", "displacement_status": "idp",
              "disability": "no", "phone": "+218 91 555 0199", "location": "Camp block D",
              "safe_contact": "Only through the clinic"}
    consent = {"services": "yes", "reporting": "yes", "given_by": "survivor", "method": "verbal",
               "child_assent": "", "caregiver_not_asked_reason": "", "share_health_medical": "yes",
               "share_mhpss": "no"}
    incident = incident_form(*yes, incident_date="2026-11-22", reported_date="2026-11-22",
                             time_of_day="morning", incident_time="09:30",
                             narrative="She was stopped on the road to the well.")
    fields: dict[str, Any] = {
        **{f"person-{k}": v for k, v in person.items()},
        **{f"consent-{k}": v for k, v in consent.items()},
        **{f"incident-{k}": v for k, v in incident.items()},
        "urgent": "y",
    }
    return overridden(fields, over)


def overridden(fields: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with each of ``over`` put in (a value of ``None`` takes the field out)."""
    for key, value in over.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


def organisation_key(app: Flask, world: World, role: str = "caseworker") -> tuple[str, bytes]:
    """(key id, public point) of the active intake key of ``role``'s organisation."""
    from app.auth.models import User
    from app.db import db
    from app.field import keys

    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users[role]))
        assert user is not None
        key = keys.active_key(user.organisation_id)
        return str(key.id), bytes(key.public_key)


def envelope_for(app: Flask, world: World, at: datetime, role: str = "caseworker",
                 **over: Any) -> dict[str, Any]:
    """A fresh envelope of ``role``, made at ``at``, to its organisation's active key, with
    ``intake_fields(**over)``."""
    kid, public = organisation_key(app, world, role)
    return make_envelope(public, kid, world.users[role], DEVICE, at_ms(at), str(uuid.uuid4()),
                         intake_fields(**over))
